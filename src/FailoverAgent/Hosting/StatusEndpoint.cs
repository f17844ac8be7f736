using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FailoverAgent.Kube;

namespace FailoverAgent.Hosting;

/// <summary>
/// /healthz and /role on 127.0.0.1: a minimal HTTP/1.1 server on a TcpListener (one request per
/// connection). Not HttpListener: its managed implementation throws from Start() when a client
/// connects while it starts (a probe hitting a restarting agent did exactly that), and the agent
/// needs nothing of it. /healthz says whether the agent's loops are alive — not whether this pod is
/// active: a standby is healthy too.
/// </summary>
public sealed class StatusEndpoint(int port, Func<string?> unhealthyReason, Func<RoleReport> role) : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private readonly TcpListener listener = new(IPAddress.Loopback, port);

    public void Start() => listener.Start();

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop); }
            catch (OperationCanceledException) { return; }
            catch (SocketException e) { AgentLog.Warn($"status endpoint: {e.Message}"); continue; }
            _ = AnswerAsync(client);
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        using (var timeout = new CancellationTokenSource(RequestTimeout))
        {
            try
            {
                var stream = client.GetStream();
                var path = await ReadPathAsync(stream, timeout.Token);
                var (status, type, body) = Respond(path);
                var bytes = Encoding.UTF8.GetBytes(body + "\n");
                var head = $"HTTP/1.1 {status} {(status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Not Found")}\r\n" +
                           $"Content-Type: {type}\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
                await stream.WriteAsync(bytes, timeout.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
        }
    }

    /// <summary>The path of "GET /path HTTP/1.1", after reading the request's head (up to the blank line).</summary>
    private static async Task<string> ReadPathAsync(NetworkStream stream, CancellationToken cancel)
    {
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
        var requestLine = await reader.ReadLineAsync(cancel) ?? "";
        while (await reader.ReadLineAsync(cancel) is { Length: > 0 }) { }
        var target = requestLine.Split(' ') is [_, var t, ..] ? t : "/";
        return target.Split('?')[0];
    }

    private (int Status, string Type, string Body) Respond(string path) => path switch
    {
        "/healthz" => unhealthyReason() is { } reason ? (503, "text/plain", reason) : (200, "text/plain", "ok"),
        "/role" => (200, "application/json", JsonSerializer.Serialize(role(), AgentJsonContext.Default.RoleReport)),
        _ => (404, "text/plain", "not found: /healthz, /role"),
    };

    public void Dispose() => listener.Stop();
}

using System.Net;
using System.Text;
using System.Text.Json;
using FailoverAgent.Kube;

namespace FailoverAgent.Hosting;

/// <summary>
/// /healthz and /role on 127.0.0.1 (HttpListener: no ASP.NET, AOT-clean). /healthz says whether the
/// agent's loops are alive — not whether this pod is active: a standby is healthy too.
/// </summary>
public sealed class StatusEndpoint(int port, Func<string?> unhealthyReason, Func<RoleReport> role) : IDisposable
{
    private readonly HttpListener listener = new();

    public void Start()
    {
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
    }

    public async Task RunAsync(CancellationToken stop)
    {
        using var registration = stop.Register(listener.Stop);
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) when (stop.IsCancellationRequested) { return; }
            catch (HttpListenerException e) { AgentLog.Warn($"status endpoint: {e.Message}"); continue; }
            try { Answer(context); }
            catch (Exception e) { AgentLog.Warn($"status endpoint: {e.Message}"); }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var (status, type, body) = context.Request.Url?.AbsolutePath switch
        {
            "/healthz" => unhealthyReason() is { } reason ? (503, "text/plain", reason) : (200, "text/plain", "ok"),
            "/role" => (200, "application/json", JsonSerializer.Serialize(role(), AgentJsonContext.Default.RoleReport)),
            _ => (404, "text/plain", "not found: /healthz, /role"),
        };
        var bytes = Encoding.UTF8.GetBytes(body + "\n");
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        context.Response.ContentLength64 = bytes.Length;
        context.Response.OutputStream.Write(bytes);
        context.Response.Close();
    }

    public void Dispose() => ((IDisposable)listener).Dispose();
}

using System.Net;
using System.Net.Sockets;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>
/// A loopback TCP proxy owned by the test, between an agent and the API server, that can be cut:
/// while cut it accepts connections and reads nothing and forwards nothing (a partition: the
/// agent's calls hang until their own timeouts); restoring drops every connection of the cut (as a
/// long partition ends: with resets) and forwards new ones again. No kernel settings.
/// </summary>
public sealed class ApiProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Uri target;
    private readonly CancellationTokenSource stop = new();
    private readonly Lock gate = new();
    private readonly List<TcpClient> connections = [];
    private TaskCompletionSource restored = Completed();
    private readonly Task acceptLoop;

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;
    public bool IsCut { get; private set; }

    public ApiProxy(Uri target)
    {
        this.target = target;
        listener.Start();
        acceptLoop = AcceptAsync();
    }

    public void Cut()
    {
        lock (gate) { IsCut = true; restored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously); }
    }

    public void Restore()
    {
        lock (gate)
        {
            foreach (var connection in connections) connection.Dispose();
            connections.Clear();
            IsCut = false;
            restored.TrySetResult();
        }
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (OperationCanceledException) { return; }
            lock (gate) connections.Add(client);
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        try
        {
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(target.Host, target.Port, stop.Token);
            lock (gate) connections.Add(upstream);
            await Task.WhenAny(PumpAsync(client.GetStream(), upstream.GetStream()), PumpAsync(upstream.GetStream(), client.GetStream()));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
        finally { client.Dispose(); }
    }

    /// <summary>Copies bytes while not cut; during a cut the bytes read are held back (and dropped at restore).</summary>
    private async Task PumpAsync(Stream from, Stream to)
    {
        var buffer = new byte[16384];
        while (true)
        {
            Task gateOpen;
            lock (gate) gateOpen = restored.Task;
            await gateOpen.WaitAsync(stop.Token);
            var read = await from.ReadAsync(buffer, stop.Token);
            if (read == 0) return;
            lock (gate) if (IsCut) continue;   // read during a cut: lost, as in a partition
            await to.WriteAsync(buffer.AsMemory(0, read), stop.Token);
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        lock (gate) foreach (var connection in connections) connection.Dispose();
        await acceptLoop;
        stop.Dispose();
    }
}

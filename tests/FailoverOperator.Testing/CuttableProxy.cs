using System.Net;
using System.Net.Sockets;
using k8s;

namespace FailoverOperator.Testing;

/// <summary>
/// A loopback TCP forwarder in front of the API server that a test can cut and restore: while cut,
/// open connections are closed and new ones are refused, as an API server outage or a network
/// partition looks to one client. The TLS session passes through untouched. No kernel settings:
/// only this process's sockets.
/// </summary>
public sealed class CuttableProxy : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly TcpListener listener;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<TcpClient> open = [];
    private readonly Lock gate = new();
    private readonly Task accepting;
    private readonly HashSet<IPAddress> cutSources = [];
    private readonly HashSet<IPNetwork> cutNetworks = [];
    private volatile bool cut;

    private CuttableProxy(IPEndPoint target, IPAddress? listenOn = null)
    {
        this.target = target;
        listener = new TcpListener(listenOn ?? IPAddress.Loopback, 0);
        listener.Start();
        accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>A proxy to the API server of <paramref name="kubeconfig"/>, and a copy of that kubeconfig pointing at the proxy.</summary>
    public static (CuttableProxy Proxy, string Kubeconfig) InFrontOf(string kubeconfig, string directory)
    {
        var config = KubernetesYaml.Deserialize<k8s.KubeConfigModels.K8SConfiguration>(File.ReadAllText(kubeconfig));
        var cluster = config.Clusters.Single().ClusterEndpoint;
        var server = new Uri(cluster.Server);
        var proxy = new CuttableProxy(new IPEndPoint(IPAddress.Parse(server.Host == "localhost" ? "127.0.0.1" : server.Host), server.Port));
        cluster.Server = new UriBuilder(server) { Port = proxy.Port }.Uri.ToString().TrimEnd('/');
        var path = Path.Combine(directory, $"kubeconfig-proxy-{proxy.Port}");
        File.WriteAllText(path, KubernetesYaml.Serialize(config));
        return (proxy, path);
    }

    /// <summary>
    /// A proxy to <paramref name="target"/> listening on <paramref name="listenOn"/>: say the node's
    /// bridge address, which pods reach, while the API server listens on loopback only.
    /// </summary>
    public static CuttableProxy To(IPEndPoint target, IPAddress listenOn) => new(target, listenOn);

    /// <summary>Cuts only the clients connecting from <paramref name="source"/> (one pod's address), until <see cref="Restore(IPAddress)"/>.</summary>
    public void Cut(IPAddress source)
    {
        lock (gate)
        {
            cutSources.Add(source);
            CloseCutLocked();
        }
    }

    public void Restore(IPAddress source)
    {
        lock (gate) cutSources.Remove(source);
    }

    /// <summary>
    /// Cuts only the clients connecting from addresses in <paramref name="sources"/> (one node's pod
    /// network: a partition of that node), until <see cref="Restore(IPNetwork)"/>; clients elsewhere keep working.
    /// </summary>
    public void Cut(IPNetwork sources)
    {
        lock (gate)
        {
            cutNetworks.Add(sources);
            CloseCutLocked();
        }
    }

    public void Restore(IPNetwork sources)
    {
        lock (gate) cutNetworks.Remove(sources);
    }

    /// <summary>Closes the open connections of cut clients (and their upstream halves, by ending their forwarding).</summary>
    private void CloseCutLocked()
    {
        foreach (var client in open.Where(IsCutSourceLocked).ToList())
        {
            client.Dispose();
            open.Remove(client);
        }
    }

    private bool IsCutSourceLocked(TcpClient client)
    {
        if (cutSources.Count == 0 && cutNetworks.Count == 0) return false;
        IPAddress address;
        try
        {
            if (client.Client.RemoteEndPoint is not IPEndPoint remote) return false;
            address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        }
        catch (ObjectDisposedException) { return false; }
        return cutSources.Contains(address) || cutNetworks.Any(n => n.Contains(address));
    }

    private bool IsCut(TcpClient client)
    {
        if (cut) return true;
        lock (gate) return IsCutSourceLocked(client);
    }

    /// <summary>Closes every open connection and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        cut = true;
        lock (gate)
        {
            foreach (var client in open) client.Dispose();
            open.Clear();
        }
    }

    public void Restore() => cut = false;

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stopping.Token); }
            catch (Exception) when (stopping.IsCancellationRequested) { return; }
            if (IsCut(client))
            {
                // Reset rather than a clean close: a refused connection, as from a server that is down.
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }
            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        // No Nagle on either side: a forwarder must pass each write on at once. With it, the second small
        // segment of a request (a TLS record split in two writes) waits for the first one's delayed ACK, up
        // to 40 ms per hop — latency the clients behind this proxy would not see from the API server itself.
        client.NoDelay = true;
        using var upstream = new TcpClient { NoDelay = true };
        try
        {
            await upstream.ConnectAsync(target, stopping.Token);
            lock (gate)
            {
                open.Add(client);
                open.Add(upstream);
                // A cut between the accept and here would have missed this connection.
                if (cut || IsCutSourceLocked(client))
                {
                    return;
                }
            }
            var a = client.GetStream().CopyToAsync(upstream.GetStream(), stopping.Token);
            var b = upstream.GetStream().CopyToAsync(client.GetStream(), stopping.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception)
        {
            // A cut, a closed peer or the proxy stopping: the connection ends either way.
        }
        finally
        {
            lock (gate)
            {
                open.Remove(client);
                open.Remove(upstream);
            }
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        Cut();
        try { await accepting; } catch (OperationCanceledException) { }
        stopping.Dispose();
    }
}

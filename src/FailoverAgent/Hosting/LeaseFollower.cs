using FailoverAgent.Kube;
using k8s;

namespace FailoverAgent.Hosting;

/// <summary>
/// Follows the group's Lease: a read, then a watch by name from that reading; the watch ends after
/// the resync period (server-side timeout, and a client-side cap for a connection that went silent),
/// and the next round's read is the periodic backstop a lost watch event cannot defeat.
/// </summary>
public sealed class LeaseFollower(GroupApi api, AgentIdentity identity, FencingLoop loop, TimeSpan resync)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromSeconds(1);

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var resourceVersion = await ReadOnceAsync(stop);
                if (resourceVersion is not null) await WatchAsync(resourceVersion, stop);
                else await Task.Delay(ErrorBackoff, stop);   // no Lease yet: poll until the operator creates it
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                AgentLog.Warn($"following Lease {identity.Namespace}/{identity.Group}: {Describe(e)}");
                try { await Task.Delay(ErrorBackoff, stop); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Reads the Lease and hands it to the fencing loop; its resourceVersion, or null when there is none.</summary>
    public async Task<string?> ReadOnceAsync(CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(ReadTimeout);
        var lease = await api.GetLeaseAsync(timeout.Token);
        if (lease is null)
        {
            loop.Post((machine, now) => machine.OnLeaseDeleted(now));
            return null;
        }
        var snapshot = LeaseReading.ToSnapshot(lease);
        loop.Post((machine, now) => machine.OnLeaseObserved(snapshot, now));
        return snapshot.ResourceVersion;
    }

    private async Task WatchAsync(string resourceVersion, CancellationToken stop)
    {
        using var cap = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cap.CancelAfter(resync + TimeSpan.FromSeconds(2));
        try
        {
            await foreach (var (kind, lease) in LeaseWatch.WatchAsync((Kubernetes)api.Client, identity, resourceVersion, resync, cap.Token))
            {
                        if (kind == WatchEventKind.Upserted && lease is not null)
                {
                    var snapshot = LeaseReading.ToSnapshot(lease);
                    loop.Post((machine, now) => machine.OnLeaseObserved(snapshot, now));
                }
                else if (kind == WatchEventKind.Deleted)
                {
                    loop.Post((machine, now) => machine.OnLeaseDeleted(now));
                }
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            // The cap: a watch that went silent (a cut connection) is replaced by a fresh read.
        }
    }

    public static string Describe(Exception e) =>
        e is k8s.Autorest.HttpOperationException h ? $"{(int)h.Response.StatusCode} {h.Response.ReasonPhrase}: {h.Response.Content}" : $"{e.GetType().Name}: {e.Message}";
}

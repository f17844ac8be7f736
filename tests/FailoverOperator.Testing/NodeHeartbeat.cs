using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>
/// Plays a kubelet's heartbeat for one Node: its Lease in kube-node-lease, renewed every period (a
/// real kubelet renews every 10 s) until <see cref="Stop"/>, as a kubelet that died or lost the API
/// server would leave it; <see cref="Resume"/> starts renewing again.
/// </summary>
public sealed class NodeHeartbeat : IAsyncDisposable
{
    public const string Namespace = "kube-node-lease";

    private readonly IKubernetes client;
    private readonly string node;
    private readonly TimeSpan period;
    private readonly CancellationTokenSource disposed = new();
    private readonly Task loop;
    private volatile bool beating = true;
    private long renewals;

    private NodeHeartbeat(IKubernetes client, string node, TimeSpan period)
    {
        this.client = client;
        this.node = node;
        this.period = period;
        loop = Task.Run(BeatAsync);
    }

    /// <summary>Registers the Node (stand-in style) and its Lease, renewed once before this returns.</summary>
    public static async Task<NodeHeartbeat> StartAsync(IKubernetes client, string node, TimeSpan period)
    {
        await KubeletStandIn.EnsureNodeAsync(client, node);
        await RenewAsync(client, node, period);
        return new NodeHeartbeat(client, node, period);
    }

    /// <summary>Renewals written so far by the loop (the first, by <see cref="StartAsync"/>, not counted).</summary>
    public long Renewals => Interlocked.Read(ref renewals);

    public void Stop() => beating = false;

    public void Resume() => beating = true;

    private async Task BeatAsync()
    {
        while (!disposed.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, disposed.Token);
                if (!beating) continue;
                await RenewAsync(client, node, period);
                Interlocked.Increment(ref renewals);
            }
            catch (OperationCanceledException) when (disposed.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException)
            {
                // Another writer in between: the next period renews again, as a kubelet would.
            }
        }
    }

    private static async Task RenewAsync(IKubernetes client, string node, TimeSpan period)
    {
        var now = DateTime.UtcNow;
        var spec = new V1LeaseSpec { HolderIdentity = node, LeaseDurationSeconds = (int)Math.Ceiling(period.TotalSeconds * 4), RenewTime = now };
        try
        {
            var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(node, Namespace);
            lease.Spec = spec;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, node, Namespace);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            await client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = node, NamespaceProperty = Namespace }, Spec = spec }, Namespace);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await disposed.CancelAsync();
        await loop;
        disposed.Dispose();
        try { await client.CoordinationV1.DeleteNamespacedLeaseAsync(node, Namespace); }
        catch (HttpOperationException) { }
    }
}

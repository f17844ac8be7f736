using System.Threading.Channels;
using FailoverAgent.Hosting;
using k8s.Models;

namespace FailoverAgent.Kube;

/// <summary>
/// Kubernetes Events on the agent's pod (hook runs, role changes), sent in the background: a slow or
/// unreachable API server never holds up a demotion or its acknowledgement. Bounded; the oldest
/// unsent Event is dropped first (the log has every fact anyway). While a demotion is on its way to
/// its acknowledgement, sending waits (<see cref="Hold"/>): the new active is promoted only after
/// that acknowledgement, so no request of ours competes with it.
/// </summary>
public sealed class EventReporter(GroupApi api, AgentIdentity identity)
{
    private readonly Channel<Corev1Event> pending = Channel.CreateBounded<Corev1Event>(
        new BoundedChannelOptions(100) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private string? podUid;
    private volatile TaskCompletionSource? held;

    /// <summary>Queued Events wait until the returned handle is disposed (one holder at a time: the role worker).</summary>
    public IDisposable Hold()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held = gate;
        return new Release(() => { if (held == gate) held = null; gate.TrySetResult(); });
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    public void Report(string reason, string message, bool warning)
    {
        var now = DateTime.UtcNow;
        pending.Writer.TryWrite(new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = identity.Pod + ".", NamespaceProperty = identity.Namespace },
            InvolvedObject = new V1ObjectReference { ApiVersion = "v1", Kind = "Pod", Name = identity.Pod, NamespaceProperty = identity.Namespace },
            Reason = reason,
            Message = $"{message} (group {identity.Group})",
            Type = warning ? "Warning" : "Normal",
            Source = new V1EventSource { Component = "failover-agent" },
            ReportingComponent = "failover.dev/agent",
            ReportingInstance = identity.Pod,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        });
    }

    public async Task RunAsync(CancellationToken stop)
    {
        await foreach (var ev in pending.Reader.ReadAllAsync(stop))
        {
            if (held is { } gate) await gate.Task.WaitAsync(stop);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                podUid ??= await api.PodUidAsync(timeout.Token);
                ev.InvolvedObject.Uid = podUid;
                await api.CreateEventAsync(ev, timeout.Token);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                AgentLog.Warn($"Event {ev.Reason} not recorded: {LeaseFollower.Describe(e)}");
            }
        }
    }

    /// <summary>No more Events: <see cref="RunAsync"/> returns once the queued ones are sent (a hold ends here too).</summary>
    public void Complete()
    {
        held?.TrySetResult();
        pending.Writer.TryComplete();
    }
}

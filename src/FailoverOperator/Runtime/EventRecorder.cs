using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

/// <summary>
/// Records core/v1 Events off the reconcile path (a failover never waits for its Events). Repeats of
/// the same event on the same object within ten minutes bump the existing Event's count instead.
/// </summary>
[RbacRule("", "events", "create", "patch")]
public sealed class EventRecorder(IKubernetes client, string component, string instance, ILogger<EventRecorder> logger)
{
    private static readonly TimeSpan AggregationWindow = TimeSpan.FromMinutes(10);
    private readonly Channel<Corev1Event> pending = Channel.CreateBounded<Corev1Event>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Dictionary<string, (string Name, int Count, DateTime Last)> recent = [];

    public void Record(IKubernetesObject<V1ObjectMeta> target, string type, string reason, string message)
    {
        var now = DateTime.UtcNow;
        var meta = target.Metadata;
        pending.Writer.TryWrite(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = $"{meta.Name}.{now.Ticks:x}", NamespaceProperty = meta.NamespaceProperty },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = target.ApiVersion,
                Kind = target.Kind,
                Name = meta.Name,
                NamespaceProperty = meta.NamespaceProperty,
                Uid = meta.Uid,
                ResourceVersion = meta.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = message,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
            Source = new V1EventSource { Component = component },
            ReportingComponent = component,
            ReportingInstance = instance,
        });
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var e in pending.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await WriteAsync(e, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ApiErrors.IsNamespaceTerminating(ex))
                {
                    logger.LogDebug("not recording event {Reason} on {Kind} {Name}: its namespace is being deleted", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("could not record event {Reason} on {Kind} {Name}: {Error}", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, ApiErrors.Describe(ex));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WriteAsync(Corev1Event e, CancellationToken cancellationToken)
    {
        var ns = e.Metadata.NamespaceProperty;
        var key = $"{ns}/{e.InvolvedObject.Uid}/{e.Type}/{e.Reason}/{e.Message}";
        var now = e.LastTimestamp!.Value;
        foreach (var stale in recent.Where(r => now - r.Value.Last > AggregationWindow).Select(r => r.Key).ToList())
        {
            recent.Remove(stale);
        }
        if (recent.TryGetValue(key, out var seen))
        {
            var count = seen.Count + 1;
            var patch = new V1Patch(new { count, lastTimestamp = now }, V1Patch.PatchType.MergePatch);
            await client.CoreV1.PatchNamespacedEventAsync(patch, seen.Name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            recent[key] = (seen.Name, count, now);
            return;
        }
        await client.CoreV1.CreateNamespacedEventAsync(e, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        recent[key] = (e.Metadata.Name, 1, now);
    }
}

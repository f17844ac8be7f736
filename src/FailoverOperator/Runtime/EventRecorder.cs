using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

/// <summary>
/// Records core/v1 Events: most off the reconcile path (a failover never waits for them; repeats of the
/// same event on the same object within ten minutes bump the existing Event's count instead), and
/// those that must exist exactly once (a failover's, per term) on it.
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
        pending.Writer.TryWrite(NewEvent(target, $"{now.Ticks:x}", type, reason, message, now));
    }

    /// <summary>
    /// Writes the Event now, at most once per object and <paramref name="occurrence"/> (its name is derived
    /// from them, and a second create of it is refused as existing), whoever writes it and however often:
    /// a caller may repeat it until it succeeds. Throws when the API server could not be reached.
    /// </summary>
    public async Task RecordOnceAsync(IKubernetesObject<V1ObjectMeta> target, string type, string reason, string message, string occurrence, CancellationToken cancellationToken)
    {
        var meta = target.Metadata;
        var identity = SHA256.HashData(Encoding.UTF8.GetBytes($"{target.Kind}/{meta.Uid}/{reason}/{occurrence}"));
        var e = NewEvent(target, Convert.ToHexStringLower(identity, 0, 8), type, reason, message, DateTime.UtcNow);
        try
        {
            await client.CoreV1.CreateNamespacedEventAsync(e, meta.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            // Recorded before (by this process or an earlier leader): exactly what once means.
        }
        catch (Exception ex) when (ApiErrors.IsNamespaceTerminating(ex))
        {
            logger.LogDebug("not recording event {Reason} on {Kind} {Name}: its namespace is being deleted", reason, target.Kind, meta.Name);
        }
        catch (Exception ex) when (ApiErrors.StatusOf(ex) is HttpStatusCode.Forbidden or HttpStatusCode.UnprocessableEntity)
        {
            // Its namespace is being deleted, or Events are not ours to write: no retry would change that,
            // and an Event is never worth holding up the record of a failover.
            logger.LogWarning("could not record event {Reason} on {Kind} {Name}: {Error}", reason, target.Kind, meta.Name, ApiErrors.Describe(ex));
        }
    }

    private Corev1Event NewEvent(IKubernetesObject<V1ObjectMeta> target, string suffix, string type, string reason, string message, DateTime now)
    {
        var meta = target.Metadata;
        return new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = $"{meta.Name}.{suffix}", NamespaceProperty = meta.NamespaceProperty },
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
        };
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

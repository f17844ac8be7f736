using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

public interface IReconciler
{
    /// <summary>Brings one object's world in line with its spec. Returns when to look again, if ever.</summary>
    Task<TimeSpan?> ReconcileAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// Maps a change of a watched object (old is null for an add, current is null for a delete) to the
/// keys of the objects to reconcile (controller-runtime's EnqueueRequestsFromMapFunc).
/// </summary>
public delegate IEnumerable<string> MapFunc<in T>(T? old, T? current) where T : class;

/// <summary>
/// One controller: watches feed its queue through named map functions; N workers take keys from
/// the queue and reconcile them, one key per worker at a time. Metrics carry the controller's name.
/// </summary>
public sealed class Controller(string name, IReconciler reconciler, int workers, ILogger<Controller> logger)
{
    private const int ObjectGoneRetriesBeforeWarning = 3;

    /// <summary>On a graceful stop, how long reconciles in flight may take to finish before they are cancelled.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private readonly WorkQueue queue = new();

    public string Name => name;

    /// <summary>Enqueues, for every change the informer sees, the keys <paramref name="map"/> returns.</summary>
    public Controller Watches<T, TList>(Informer<T, TList> informer, MapFunc<T> map)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        informer.Changed += (old, current) =>
        {
            foreach (var key in map(old, current)) queue.Add(key);
        };
        return this;
    }

    /// <summary>Queues a key for a reconcile (watches do this through their map functions).</summary>
    public void Enqueue(string key) => queue.Add(key);

    /// <summary>Stops handing out keys; workers return once their current reconcile ends.</summary>
    public void ShutDown() => queue.ShutDown();

    /// <summary>Runs the workers until <paramref name="stop"/>, cancelling reconciles in flight at once.</summary>
    public Task RunAsync(CancellationToken stop) => RunAsync(stop, stop);

    /// <summary>
    /// Runs the workers: they take no new key once <paramref name="stop"/> is cancelled, and the
    /// reconciles in flight then finish (a failover half done is completed, not cut between its
    /// Lease commit and its record) unless <paramref name="abort"/> is cancelled too.
    /// </summary>
    public Task RunAsync(CancellationToken stop, CancellationToken abort) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(stop, abort), CancellationToken.None)));

    private async Task WorkAsync(CancellationToken stop, CancellationToken cancellationToken)
    {
        while (!stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            string? key;
            try
            {
                key = await queue.GetAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (key is null) return;

            var started = Stopwatch.GetTimestamp();
            var result = "success";
            try
            {
                var requeueAfter = await reconciler.ReconcileAsync(key, cancellationToken).ConfigureAwait(false);
                queue.Forget(key);
                if (requeueAfter is { } delay) queue.AddAfter(key, delay);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Not done: whoever runs the workers next (this process leading again after an outage)
                // must reconcile it, since no watch event may come to say so.
                result = "cancelled";
                queue.Add(key);
            }
            catch (Exception e) when (ApiErrors.StatusOf(e) == System.Net.HttpStatusCode.Conflict)
            {
                // Someone else wrote first: the watch brings the newer object; look again shortly.
                result = "conflict";
                logger.LogDebug("reconcile {Key}: conflict, retrying: {Error}", key, ApiErrors.Describe(e));
                queue.AddRateLimited(key);
            }
            catch (Exception e) when (ApiErrors.IsObjectGone(e) && queue.Failures(key) < ObjectGoneRetriesBeforeWarning)
            {
                // An object went away between the cache read and the write (a pod deleted mid-failover, the
                // group deleted): the watch brings the deletion; look again with what is left. A 404 that
                // persists (a missing API or subresource, say) falls through to a warning and result=error.
                result = "not_found";
                logger.LogDebug("reconcile {Key}: an object it wrote is gone, retrying: {Error}", key, ApiErrors.Describe(e));
                queue.AddRateLimited(key);
            }
            catch (Exception e) when (ApiErrors.IsNamespaceTerminating(e))
            {
                result = "namespace_terminating";
                logger.LogDebug("reconcile {Key}: its namespace is being deleted; not retrying", key);
                queue.Forget(key);
            }
            catch (Exception e)
            {
                result = "error";
                logger.LogWarning("reconcile {Key} failed (attempt {Attempt}), retrying with backoff: {Error}", key, queue.Failures(key) + 1, ApiErrors.Describe(e));
                queue.AddRateLimited(key);
            }
            finally
            {
                queue.Done(key);
                RuntimeMetrics.Reconciles.WithLabels(name, result).Inc();
                RuntimeMetrics.ReconcileDuration.WithLabels(name, result).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                RuntimeMetrics.WorkQueueDepth.WithLabels(name).Set(queue.Depth);
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

/// <summary>
/// Keeps a local cache of one kind of object: list, then watch from the list's resourceVersion
/// (with bookmarks); on a broken watch it re-watches from the last resourceVersion after a
/// jittered backoff, and on 410 Gone it re-lists, reporting what changed meanwhile.
/// </summary>
/// <param name="transform">Applied to every object before it is cached: drop what the consumers never
/// read (managedFields, a pod's spec) so the cache stays small at thousands of objects.</param>
public sealed class Informer<T, TList>(ListWatch<T, TList> source, ILogger logger, string name, Func<T, T>? transform = null,
    string? notFoundHint = null) : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : IItems<T>, IMetadata<V1ListMeta>
{
    private readonly ConcurrentDictionary<string, T> cache = new();
    // Reconciles read one namespace at a time; indexing by namespace keeps that independent of cluster size.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, T>> byNamespace = new();
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock writeLock = new();
    // The highest resourceVersion the list and watch have delivered (0: none, or not numeric): every change
    // of this kind up to it is already in the cache, including deletions.
    private ulong delivered;

    /// <summary>Raised with (old, new): old is null for an add, new is null for a delete.</summary>
    public event Action<T?, T?>? Changed;

    public string Name => name;
    public bool HasSynced => synced.Task.IsCompleted;
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public T? Get(string key) => cache.TryGetValue(key, out var value) ? value : null;
    public T? Get(string? ns, string name) => Get(ObjectKey.Of(ns, name));
    public IEnumerable<T> List() => cache.Values;
    public IEnumerable<T> List(string ns) => byNamespace.TryGetValue(ns, out var objects) ? objects.Values : [];

    /// <summary>
    /// Puts an object the operator just wrote into the cache, so the next reconcile does not act on the
    /// state from before its own write; unless the cache already holds a newer version, or the watch has
    /// already delivered this version or a later change (a deletion included: remembering the write then
    /// would bring back an object that no longer exists, for good).
    /// </summary>
    public void Remember(T written)
    {
        Apply(written, deleted: false, fromWrite: true);
    }

    /// <summary>One watch event (also used by tests).</summary>
    internal void OnEvent(WatchEventType type, T obj)
    {
        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                Apply(obj, deleted: false, fromWrite: false);
                break;
            case WatchEventType.Deleted:
                Apply(obj, deleted: true, fromWrite: false);
                break;
            case WatchEventType.Bookmark:
                Advance(Revision(obj));
                break;
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var needList = true;
        var resourceVersion = "";
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    var (items, listVersion) = await source.ListAsync(cancellationToken).ConfigureAwait(false);
                    OnList(items, listVersion);
                    resourceVersion = listVersion;
                    needList = false;
                    synced.TrySetResult();
                    logger.LogDebug("{Informer}: listed {Count} objects at resourceVersion {ResourceVersion}", name, items.Count, resourceVersion);
                }

                var gone = false;
                var events = 0;
                // client-go's reflector also asks for a random 5-10 min timeout, spreading re-watches.
                var timeout = 300 + Random.Shared.Next(300);
                await foreach (var (type, obj) in source.WatchAsync(resourceVersion, timeout, e =>
                {
                    if (ApiErrors.IsGone(e)) gone = true;
                    else logger.LogWarning("{Informer}: watch error: {Error}", name, e.Message);
                }, cancellationToken).ConfigureAwait(false))
                {
                    events++;
                    if (obj?.Metadata?.ResourceVersion is { Length: > 0 } rv) resourceVersion = rv;
                    if (obj?.Metadata is not null) OnEvent(type, obj);
                }

                if (gone)
                {
                    logger.LogInformation("{Informer}: resourceVersion {ResourceVersion} is too old (410 Gone); re-listing", name, resourceVersion);
                    needList = true;
                }
                else if (events == 0)
                {
                    // A watch that ends at once with nothing in it is a failure (e.g. a closing server); back off.
                    await BackoffAsync(++failures, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (ApiErrors.IsGone(e))
            {
                needList = true;
            }
            catch (Exception e)
            {
                failures++;
                logger.LogWarning("{Informer}: {Operation} failed ({Failures} in a row): {Error}{Hint}", name, needList ? "list" : "watch", failures,
                    ApiErrors.Describe(e), Hint(ApiErrors.StatusOf(e)));
                await BackoffAsync(failures, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private string Hint(HttpStatusCode? status) => status switch
    {
        HttpStatusCode.NotFound => $" (is the {name} API installed?{(notFoundHint is null ? "" : " " + notFoundHint)})",
        HttpStatusCode.Forbidden =>
            $" (this identity may not list and watch {name}: grant the operator's RBAC rules to it)",
        HttpStatusCode.Unauthorized => " (the API server rejected the credentials: check --kubeconfig, or the ServiceAccount token in a cluster)",
        _ => "",
    };

    // Capped at a second: while the API server is away a retry a second per informer costs nothing,
    // and when it is back the caches (and so failovers) resume within about a second, not 30.
    private static async Task BackoffAsync(int failures, CancellationToken cancellationToken)
    {
        var baseMs = Math.Min(1_000, 100 * Math.Pow(2, Math.Min(failures - 1, 10)));
        var jittered = baseMs * (0.5 + Random.Shared.NextDouble());
        try { await Task.Delay(TimeSpan.FromMilliseconds(jittered), cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>A complete list taken at <paramref name="listVersion"/> (also used by tests).</summary>
    internal void OnList(List<T> items, string listVersion)
    {
        var listed = ParseRevision(listVersion);
        // First, so that a write of ours remembered while this runs is judged against the list.
        lock (writeLock) delivered = listed ?? 0;
        var seen = new HashSet<string>();
        foreach (var item in items)
        {
            seen.Add(ObjectKey.Of(item));
            Apply(item, deleted: false, fromWrite: false);
        }
        foreach (var key in cache.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            // Absent from the list: gone, unless it is a write of ours newer than the list.
            if (cache.TryGetValue(key, out var old) && !(Revision(old) > listed)) Apply(old, deleted: true, fromWrite: false);
        }
    }

    private void Apply(T obj, bool deleted, bool fromWrite)
    {
        obj.Metadata.ManagedFields = null;
        if (transform is not null) obj = transform(obj);
        var key = ObjectKey.Of(obj);
        T? old;
        lock (writeLock)
        {
            var revision = Revision(obj);
            if (!fromWrite && revision > delivered) delivered = revision.Value;
            cache.TryGetValue(key, out old);
            // The cache may be ahead of the watch with a write of ours; an event older than that changes
            // nothing (a deletion of an older incarnation included), and the watch brings the write later.
            if (old is not null && Revision(old) > revision) return;
            if (deleted)
            {
                if (old is null) return;
                cache.TryRemove(key, out _);
                if (byNamespace.TryGetValue(NamespaceOf(obj), out var objects)) objects.TryRemove(key, out _);
            }
            else
            {
                if (fromWrite && revision is { } written && written <= delivered) return;
                if (old is not null && old.Metadata.ResourceVersion == obj.Metadata.ResourceVersion) return;
                cache[key] = obj;
                byNamespace.GetOrAdd(NamespaceOf(obj), _ => new ConcurrentDictionary<string, T>())[key] = obj;
            }
        }
        try
        {
            Changed?.Invoke(old, deleted ? null : obj);
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Informer}: event handler failed for {Key}", name, key);
        }
    }

    private void Advance(ulong? revision)
    {
        if (revision is not { } rv) return;
        lock (writeLock)
        {
            if (rv > delivered) delivered = rv;
        }
    }

    private static string NamespaceOf(T obj) => obj.Metadata.NamespaceProperty ?? "";

    // resourceVersions are opaque, but etcd-backed servers hand out increasing integers shared by all
    // kinds. Where they are not numbers, every write and event is applied as it comes.
    private static ulong? Revision(T obj) => ParseRevision(obj.Metadata?.ResourceVersion);

    private static ulong? ParseRevision(string? resourceVersion) => ulong.TryParse(resourceVersion, out var rv) ? rv : null;
}

public interface IInformer
{
    string Name { get; }
    bool HasSynced { get; }
    Task RunAsync(CancellationToken cancellationToken);
    Task WaitForSyncAsync(CancellationToken cancellationToken);
}

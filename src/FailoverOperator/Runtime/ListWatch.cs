using System.Reflection;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>One page of a list call, or a watch stream, for one kind of object.</summary>
public delegate Task<HttpOperationResponse<TList>> ListCall<TList>(ListRequest request, CancellationToken cancellationToken);

public sealed record ListRequest(string? Continue, string? ResourceVersion, bool Watch, int? TimeoutSeconds, int? Limit)
{
    public bool? AllowWatchBookmarks => Watch ? true : null;
}

/// <summary>Lists (paged) and watches one kind of object.</summary>
public sealed class ListWatch<T, TList>(ListCall<TList> call) where T : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<T>, IMetadata<V1ListMeta>
{
    private const int PageSize = 500;

    public async Task<(List<T> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<T>();
        string? continueToken = null;
        string resourceVersion;
        do
        {
            using var response = await call(new ListRequest(continueToken, null, false, null, PageSize), cancellationToken).ConfigureAwait(false);
            items.AddRange(response.Body.Items ?? []);
            continueToken = response.Body.Metadata?.ContinueProperty;
            resourceVersion = response.Body.Metadata?.ResourceVersion ?? "";
        }
        while (!string.IsNullOrEmpty(continueToken));
        return (items, resourceVersion);
    }

    public IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
#pragma warning disable CS0618 // the generic stream reader over a list call is the one that serves every kind
        call(new ListRequest(null, resourceVersion, true, timeoutSeconds, null), cancellationToken)
            .WatchAsync<T, TList>(onError, cancellationToken);
#pragma warning restore CS0618
}

/// <summary>
/// Makes the ListWatch of any kind, core or custom, from its <see cref="KubernetesEntityAttribute"/>:
/// a null or empty namespace means every namespace (client-go's NewFilteredListWatchFromClient).
/// KubernetesClient's custom-object calls serve core kinds too: an empty group maps to /api/v1.
/// </summary>
public static class ListWatch
{
    public static ListWatch<T, TList> For<T, TList>(IKubernetes client, string? ns = null, string? labelSelector = null)
        where T : IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        var kind = Entity<T>();
        return new ListWatch<T, TList>((r, ct) => string.IsNullOrEmpty(ns)
            ? client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<TList>(kind.Group, kind.ApiVersion, kind.PluralName,
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, labelSelector: labelSelector, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct)
            : client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<TList>(kind.Group, kind.ApiVersion, ns, kind.PluralName,
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, labelSelector: labelSelector, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct));
    }

    /// <summary>The group, version and plural of a kind, as its type declares them.</summary>
    public static KubernetesEntityAttribute Entity<T>() =>
        typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
        ?? throw new InvalidOperationException($"{typeof(T).Name} has no [KubernetesEntity] attribute naming its group, version and plural");
}

/// <summary>A list of custom objects, shaped like the generated list types.</summary>
public sealed class CustomResourceList<T> : IItems<T>, IMetadata<V1ListMeta>, IKubernetesObject
{
    [System.Text.Json.Serialization.JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [System.Text.Json.Serialization.JsonPropertyName("items")] public IList<T> Items { get; set; } = [];
}

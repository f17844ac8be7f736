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

/// <summary>Lists (paged) and watches one kind of object through a generated KubernetesClient list method.</summary>
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

/// <summary>A list of custom objects, shaped like the generated list types.</summary>
public sealed class CustomResourceList<T> : IItems<T>, IMetadata<V1ListMeta>, IKubernetesObject
{
    [System.Text.Json.Serialization.JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [System.Text.Json.Serialization.JsonPropertyName("items")] public IList<T> Items { get; set; } = [];
}

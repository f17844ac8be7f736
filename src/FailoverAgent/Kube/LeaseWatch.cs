using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace FailoverAgent.Kube;

public enum WatchEventKind { Upserted, Deleted, Expired }

/// <summary>
/// A watch on one Lease by name. KubernetesClient.Aot has no WatchAsync: the `watch=true` response
/// is newline-delimited JSON ({"type": ..., "object": ...}), read here line by line.
/// </summary>
public static class LeaseWatch
{
    public static async IAsyncEnumerable<(WatchEventKind Kind, V1Lease? Lease)> WatchAsync(
        Kubernetes client, AgentIdentity identity, string resourceVersion, TimeSpan serverTimeout, [EnumeratorCancellation] CancellationToken cancel)
    {
        var path = $"apis/coordination.k8s.io/v1/namespaces/{Uri.EscapeDataString(identity.Namespace)}/leases" +
                   $"?watch=true&fieldSelector={Uri.EscapeDataString("metadata.name=" + identity.Group)}" +
                   $"&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={(int)serverTimeout.TotalSeconds}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri, path));
        if (client.Credentials is not null) await client.Credentials.ProcessHttpRequestAsync(request, cancel);
        using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.Length == 0) continue;
            var parsed = Parse(line);
            if (parsed is { } item) yield return item;
            if (parsed?.Kind == WatchEventKind.Expired) yield break;
        }
    }

    /// <summary>One line of the watch; null for a kind that tells the agent nothing (BOOKMARK).</summary>
    public static (WatchEventKind Kind, V1Lease? Lease)? Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var type = document.RootElement.GetProperty("type").GetString();
        var body = document.RootElement.GetProperty("object").GetRawText();
        return type switch
        {
            "ADDED" or "MODIFIED" => (WatchEventKind.Upserted, KubernetesJson.Deserialize<V1Lease>(body)),
            "DELETED" => (WatchEventKind.Deleted, KubernetesJson.Deserialize<V1Lease>(body)),
            // ERROR carries a Status (410 Gone: our resourceVersion is too old): start over with a fresh read.
            "ERROR" => (WatchEventKind.Expired, null),
            _ => null,
        };
    }
}

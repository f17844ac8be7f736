using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>What an API failure says, for logs and for deciding whether to retry.</summary>
public static class ApiErrors
{
    /// <summary>The HTTP status and the server's body: the library's own message omits both.</summary>
    public static string Describe(Exception e) => e is HttpOperationException h
        ? $"{(int?)h.Response?.StatusCode} {h.Response?.StatusCode}: {h.Response?.Content}"
        : e.Message;

    public static HttpStatusCode? StatusOf(Exception e) => (e as HttpOperationException)?.Response?.StatusCode;

    /// <summary>410 Gone: the resourceVersion a watch asked for is too old; re-list.</summary>
    public static bool IsGone(Exception e) => e switch
    {
        KubernetesException k => k.Status?.Code == (int)HttpStatusCode.Gone,
        _ => StatusOf(e) == HttpStatusCode.Gone,
    };

    /// <summary>
    /// A 404 that names the object it did not find (the server's Status carries details.name), as when an
    /// object is deleted between a read and a write; unlike a 404 for a path the server does not serve.
    /// </summary>
    public static bool IsObjectGone(Exception e) =>
        StatusOf(e) == HttpStatusCode.NotFound && !string.IsNullOrEmpty(StatusBody(e)?.Details?.Name);

    /// <summary>
    /// A create refused because its namespace is being deleted (403 with the cause NamespaceTerminating).
    /// Nothing to retry: the namespace's objects, the group included, are about to go.
    /// </summary>
    public static bool IsNamespaceTerminating(Exception e) =>
        StatusOf(e) == HttpStatusCode.Forbidden
        && StatusBody(e)?.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true;

    private static V1Status? StatusBody(Exception e)
    {
        if ((e as HttpOperationException)?.Response?.Content is not { Length: > 0 } body) return null;
        try { return KubernetesJson.Deserialize<V1Status>(body); }
        catch (JsonException) { return null; }
    }
}

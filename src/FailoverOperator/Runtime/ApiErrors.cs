using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace FailoverOperator.Runtime;

/// <summary>What an API failure says, for logs: the library's own message omits the server's status and body.</summary>
public static class ApiErrors
{
    public static string Describe(Exception e) => e is HttpOperationException h
        ? $"{(int?)h.Response?.StatusCode} {h.Response?.StatusCode}: {h.Response?.Content}"
        : e.Message;

    public static HttpStatusCode? StatusOf(Exception e) => (e as HttpOperationException)?.Response?.StatusCode;

    /// <summary>
    /// A 404 that names the object it did not find (the server's Status carries details.name), as when an
    /// object is deleted between a read and a write; unlike a 404 for a path the server does not serve.
    /// </summary>
    public static bool IsObjectGone(Exception e)
    {
        if (StatusOf(e) != HttpStatusCode.NotFound || (e as HttpOperationException)?.Response?.Content is not { Length: > 0 } body) return false;
        try
        {
            using var status = JsonDocument.Parse(body);
            return status.RootElement.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Object
                && details.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 };
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A create refused because its namespace is being deleted (403 with the cause NamespaceTerminating).
    /// Nothing to retry: the namespace's objects, the group included, are about to go.
    /// </summary>
    public static bool IsNamespaceTerminating(Exception e) =>
        StatusOf(e) == HttpStatusCode.Forbidden && (e as HttpOperationException)?.Response?.Content is { } body
        && body.Contains("\"reason\":\"NamespaceTerminating\"", StringComparison.Ordinal);
}

using System.Net;
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
    /// A create refused because its namespace is being deleted (403 with the cause NamespaceTerminating).
    /// Nothing to retry: the namespace's objects, the group included, are about to go.
    /// </summary>
    public static bool IsNamespaceTerminating(Exception e) =>
        StatusOf(e) == HttpStatusCode.Forbidden && (e as HttpOperationException)?.Response?.Content is { } body
        && body.Contains("\"reason\":\"NamespaceTerminating\"", StringComparison.Ordinal);
}

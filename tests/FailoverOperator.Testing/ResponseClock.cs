using System.Diagnostics;

namespace FailoverOperator.Testing;

/// <summary>
/// Stamps the moment an API response's headers arrive, before the client reads and deserializes the
/// body. That is when a write is acknowledged, and when a watch is established: the API server registers
/// a watch before it sends the headers, while KubernetesClient's watch call returns only with the first
/// event. The caller sets <see cref="Observer"/> right before the call; it flows into the request through
/// the async context, so concurrent calls each see their own.
/// </summary>
public sealed class ResponseClock : DelegatingHandler
{
    public static readonly AsyncLocal<Action<long>?> Observer = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var observer = Observer.Value;
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (observer is not null && response.IsSuccessStatusCode) observer(Stopwatch.GetTimestamp());
        return response;
    }

    /// <summary>Runs one API call; returns when it was sent and when its response headers arrived.</summary>
    public static async Task<(long Sent, long Acked)> TimeAsync(Func<Task> call)
    {
        long acked = 0;
        Observer.Value = ts => acked = ts;
        var sent = Stopwatch.GetTimestamp();
        try
        {
            await call();
        }
        finally
        {
            Observer.Value = null;
        }
        // Without a ResponseClock in the client's pipeline, the call's completion stands in.
        return (sent, acked == 0 ? Stopwatch.GetTimestamp() : acked);
    }
}

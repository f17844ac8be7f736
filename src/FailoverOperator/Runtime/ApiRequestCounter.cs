namespace FailoverOperator.Runtime;

/// <summary>Counts every request the operator sends to the API server, so its cost is measurable.</summary>
public sealed class ApiRequestCounter : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var verb = request.Method.Method;
        if (verb == "GET" && request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) == true) verb = "WATCH";
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            RuntimeMetrics.ApiRequests.WithLabels(verb, ((int)response.StatusCode).ToString()).Inc();
            return response;
        }
        catch
        {
            RuntimeMetrics.ApiRequests.WithLabels(verb, "error").Inc();
            throw;
        }
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using FailoverAgent.Kube;

namespace FailoverAgent.Roles;

/// <summary>
/// A hook that is an HTTP POST to the application (on localhost) with the role change as JSON.
/// 2xx = done; 5xx, no answer or the timeout = retry (like exit 1); any other status = give up.
/// </summary>
public sealed class UrlHook(HttpClient http, HookPolicy policy)
{
    public async Task<(HookOutcome Outcome, int Code, string Output)> PostOnceAsync(Uri url, RoleChange change, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(policy.Timeout);
        try
        {
            using var content = new StringContent(JsonSerializer.Serialize(change.Payload, AgentJsonContext.Default.HookPayload), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(url, content, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return (HookOutcome.Succeeded, code, body);
            // Mapped onto the exit-code rule: 5xx → 1 (retry), anything else → give up.
            return (HookOutcome.Failed, code >= 500 ? HookRunner.ExitRetry : code, $"HTTP {code}: {body}");
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return (HookOutcome.TimedOut, 0, $"no answer within {policy.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return (HookOutcome.Failed, HookRunner.ExitRetry, e.Message);
        }
    }
}

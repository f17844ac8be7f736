using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubectlHag;

/// <summary>
/// `kubectl hag switchover NAME [POD]`: writes the request annotation (the operator validates and
/// carries it out), waits for the operator's answer in status.lastSwitchover, prints it, and says in
/// its exit code whether the active moved, the operator refused, it failed, or no answer came.
/// </summary>
public sealed class Switchover(GroupApi api, TextWriter stdout, TextWriter stderr)
{
    // The answer's requestedAt is on the operator's clock, the request's time on the API server's (to the
    // second): an answer stamped up to this much before the request still counts, if it is a new one.
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    public async Task<int> RunAsync(string name, string target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var group = await api.GetAsync(name, cancellationToken);
        if (group.GetAnnotation(Roles.SwitchoverAnnotation) is { } pending)
        {
            // Certain without asking the operator: writing ours would replace a request someone else is waiting on.
            await stderr.WriteLineAsync($"error: a switchover to {pending} is already pending on {api.Namespace}/{name}; wait for it, or {Withdraw(name)}");
            return ExitCodes.Error;
        }
        var previous = group.Status?.LastSwitchover;
        var requestedAt = await RequestAsync(group, target, cancellationToken);
        await stdout.WriteLineAsync($"switchover of {api.Namespace}/{name} to {target} requested (active: {group.Status?.ActivePod ?? "none"}); " +
            $"waiting up to {timeout.TotalSeconds:0} s for the operator");

        var answer = await WaitForAnswerAsync(name, target, previous, requestedAt - ClockSkewAllowance, timeout, cancellationToken);
        return await ReportAsync(name, target, answer, timeout);
    }

    /// <summary>Sets the annotation on the version of the group just read (a concurrent change makes it fail, not overwrite).</summary>
    private async Task<DateTimeOffset> RequestAsync(HighAvailabilityGroup group, string target, CancellationToken cancellationToken)
    {
        var patch = new
        {
            metadata = new
            {
                resourceVersion = group.Metadata.ResourceVersion,
                annotations = new Dictionary<string, string> { [Roles.SwitchoverAnnotation] = target },
            },
        };
        try
        {
            var (_, serverTime) = await api.MergePatchAsync(group.Metadata.Name, patch, cancellationToken);
            return serverTime ?? DateTimeOffset.UtcNow;
        }
        catch (HttpOperationException e) when (ApiErrors.StatusOf(e) == HttpStatusCode.Conflict)
        {
            throw new InvalidOperationException($"{api.Namespace}/{group.Metadata.Name} changed while the request was being written; run the command again");
        }
    }

    /// <summary>The operator's answer to this request, or null when none came within the timeout.</summary>
    private async Task<SwitchoverRecord?> WaitForAnswerAsync(string name, string target, SwitchoverRecord? previous, DateTimeOffset notBefore,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var group = await api.GetAsync(name, cancellationToken);
            // The operator writes its answer before it removes the request: both visible means answered.
            var answer = group.Status?.LastSwitchover;
            if (group.GetAnnotation(Roles.SwitchoverAnnotation) != target && IsAnswerTo(answer, target, previous, notBefore)) return answer;
            if (DateTimeOffset.UtcNow >= deadline) return null;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>
    /// A new record, stamped after the request, about this target. A refusal names the request as its
    /// target; a completed switchover names the pod promoted, which is the request's unless it was "any"
    /// or the switchover Failed (another pod had to be promoted).
    /// </summary>
    private static bool IsAnswerTo(SwitchoverRecord? answer, string target, SwitchoverRecord? previous, DateTimeOffset notBefore) =>
        answer is { RequestedAt: { } at } && answer != previous
        && new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) >= notBefore
        && (answer.To == target || target == Roles.AnyCandidate || answer.Result == SwitchoverResults.Failed);

    private async Task<int> ReportAsync(string name, string target, SwitchoverRecord? answer, TimeSpan timeout)
    {
        switch (answer?.Result)
        {
            case SwitchoverResults.Succeeded:
                await stdout.WriteLineAsync($"switched over: {answer.From} -> {answer.To}{Took(answer)}");
                return ExitCodes.Success;
            case SwitchoverResults.Refused:
                await stderr.WriteLineAsync($"refused by the operator: {answer.Message}");
                return ExitCodes.SwitchoverRefused;
            case null:
                await stderr.WriteLineAsync($"error: no answer from the operator within {timeout.TotalSeconds:0} s; the request may still be pending " +
                    $"({Roles.SwitchoverAnnotation}={target}). Is the operator running? Follow it with: kubectl hag status {name} -n {api.Namespace}; {Withdraw(name)}");
                return ExitCodes.SwitchoverTimedOut;
            default:
                await stderr.WriteLineAsync($"switchover {answer.Result}: {answer.From} -> {answer.To}{Took(answer)}: {answer.Message}");
                return ExitCodes.SwitchoverFailed;
        }
    }

    private string Withdraw(string name) => $"withdraw it with: kubectl annotate hag {name} -n {api.Namespace} {Roles.SwitchoverAnnotation}-";

    private static string Took(SwitchoverRecord answer) =>
        $"{(answer.DurationMilliseconds is { } ms ? $" in {ms} ms" : "")}{(answer.Term is { } term ? $", term {term}" : "")}";
}

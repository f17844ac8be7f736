using FailoverAgent.Hosting;
using FailoverAgent.Kube;

namespace FailoverAgent.Roles;

/// <summary>The hooks of `failover-agent sidecar`: command and/or URL per direction, run in that order.</summary>
public sealed record SidecarHooks(string? OnPromote, string? OnDemote, Uri? PromoteUrl, Uri? DemoteUrl);

/// <summary>Sidecar mode: a role change runs the hooks; each run is logged and becomes an Event on the pod.</summary>
public sealed class SidecarHandler(SidecarHooks hooks, HookPolicy policy, EventReporter events, HttpClient http) : IRoleHandler
{
    private readonly HookRunner runner = new(policy, attempt => Report(attempt, events));
    private readonly UrlHook url = new(http, policy);

    public Task PromoteAsync(RoleChange change, CancellationToken cancel) => RunAsync("on-promote", hooks.OnPromote, "promote-url", hooks.PromoteUrl, change, cancel);

    /// <summary>True when every demote hook succeeded (or there is none): only then may the agent claim the application stopped.</summary>
    public Task<bool> DemoteAsync(RoleChange change, CancellationToken cancel) => RunAsync("on-demote", hooks.OnDemote, "demote-url", hooks.DemoteUrl, change, cancel);

    private async Task<bool> RunAsync(string commandName, string? command, string urlName, Uri? target, RoleChange change, CancellationToken cancel)
    {
        var succeeded = true;
        if (!string.IsNullOrWhiteSpace(command)) succeeded &= await runner.RunCommandAsync(commandName, command, change, cancel);
        if (target is not null) succeeded &= await runner.RetryAsync(urlName, change.Term, _ => url.PostOnceAsync(target, change, cancel), cancel);
        return succeeded;
    }

    /// <summary>HookSucceeded / HookFailed / HookTimedOut, with exit code, term and attempt, in the log and as an Event.</summary>
    public static void Report(HookAttempt run, EventReporter events)
    {
        var (reason, verb) = run.Outcome switch
        {
            HookOutcome.Succeeded => ("HookSucceeded", "succeeded"),
            HookOutcome.TimedOut => ("HookTimedOut", "timed out (process group killed)"),
            _ => ("HookFailed", "failed"),
        };
        var next = run.Outcome == HookOutcome.Succeeded ? "" : run.WillRetry ? "; will retry" : "; giving up";
        var message = $"{run.Hook} {verb}: exit code {run.ExitCode}, term {run.Term}, attempt {run.Attempt}/{run.MaxAttempts}{next}";
        var output = string.IsNullOrEmpty(run.Output) ? "" : $"\n  output: {run.Output.Replace("\n", "\n  output: ")}";
        if (run.Outcome == HookOutcome.Succeeded) AgentLog.Info(message + output); else AgentLog.Warn(message + output);
        events.Report(reason, message, warning: run.Outcome != HookOutcome.Succeeded);
    }
}

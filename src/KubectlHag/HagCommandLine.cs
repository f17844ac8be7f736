using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s.Autorest;
using k8s.Exceptions;

namespace KubectlHag;

/// <summary>The plugin's commands and options; each option, its default and its help text are stated once, here.</summary>
public static class HagCommandLine
{
    // Recursive: kubectl passes everything after "hag" through, and users put -n before or after the command.
    private static readonly Option<string?> NamespaceOption = new("--namespace", "-n")
    { Description = "The group's namespace (default: the context's namespace, else default)", Recursive = true };
    private static readonly Option<string?> KubeconfigOption = new("--kubeconfig")
    { Description = "Kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster)", Recursive = true };
    private static readonly Option<string?> ContextOption = new("--context")
    { Description = "The kubeconfig context to use (default: its current context)", Recursive = true };
    private static readonly Option<TimeSpan> TimeoutOption = new("--timeout")
    { Description = "How long to wait for the operator's answer (e.g. 90s, 2m)", DefaultValueFactory = _ => TimeSpan.FromSeconds(60), CustomParser = ParseDuration };

    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("kubectl hag: status, switchover, pause and resume of HighAvailabilityGroups (Failover Operator).")
        {
            NamespaceOption, KubeconfigOption, ContextOption,
        };
        root.Subcommands.Add(GroupCommand("status", "The group, its conditions, members (role, readiness, node, priority), Lease holder and term, last failover and switchover",
            (api, name, _, ct) => new GroupCommands(api, stdout).StatusAsync(name, ct), stderr));
        root.Subcommands.Add(GroupCommand("pause", "Set spec.paused=true: no automatic failover (maintenance)",
            (api, name, _, ct) => new GroupCommands(api, stdout).SetPausedAsync(name, true, ct), stderr));
        root.Subcommands.Add(GroupCommand("resume", "Set spec.paused=false",
            (api, name, _, ct) => new GroupCommands(api, stdout).SetPausedAsync(name, false, ct), stderr));

        var pod = new Argument<string>("POD")
        {
            Description = $"The pod to make active, or {Roles.AnyCandidate}: the best candidate",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => Roles.AnyCandidate,
        };
        var switchover = GroupCommand("switchover", "Move the active role to POD (or the best candidate) and wait for the operator's answer",
            (api, name, parsed, ct) => new Switchover(api, stdout, stderr).RunAsync(name, parsed.GetValue(pod)!.Trim(), parsed.GetValue(TimeoutOption), ct), stderr);
        switchover.Arguments.Add(pod);
        switchover.Options.Add(TimeoutOption);
        root.Subcommands.Add(switchover);
        return root;
    }

    /// <summary>A command on one group: connects as kubectl would, runs, and turns failures into a message and exit code 1.</summary>
    private static Command GroupCommand(string name, string description, Func<GroupApi, string, ParseResult, CancellationToken, Task<int>> run, TextWriter stderr)
    {
        var group = new Argument<string>("NAME") { Description = "The HighAvailabilityGroup" };
        var command = new Command(name, description) { group };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            try
            {
                var target = KubeConnection.Connect(parsed.GetValue(KubeconfigOption), parsed.GetValue(ContextOption), parsed.GetValue(NamespaceOption));
                return await run(new GroupApi(target), parsed.GetValue(group)!, parsed, cancellationToken);
            }
            catch (Exception e) when (e is NotFoundException or KubeConfigException or HttpOperationException or HttpRequestException or InvalidOperationException)
            {
                await stderr.WriteLineAsync($"error: {(e is HttpOperationException ? ApiErrors.Describe(e) : e.Message)}");
                return ExitCodes.Error;
            }
        });
        return command;
    }

    /// <summary>A kubectl-style duration: 90s, 2m, 1h, 500ms, or plain seconds.</summary>
    private static TimeSpan ParseDuration(ArgumentResult result)
    {
        var raw = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : "";
        // "ms" before "s", and a bare number (seconds) last.
        (string Suffix, Func<double, TimeSpan> Make)[] units =
            [("ms", TimeSpan.FromMilliseconds), ("s", TimeSpan.FromSeconds), ("m", TimeSpan.FromMinutes), ("h", TimeSpan.FromHours), ("", TimeSpan.FromSeconds)];
        foreach (var (suffix, make) in units)
        {
            if (raw.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(raw[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
            {
                return make(value);
            }
        }
        result.AddError($"--timeout={raw}: expected a positive duration such as 90s, 2m or 500ms");
        return TimeSpan.Zero;
    }
}

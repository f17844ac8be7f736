using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FailoverAgent.Hosting;

/// <summary>What both modes share: identity, credentials, the status port, the resync period.</summary>
public sealed record AgentOptions(string Group, string Namespace, string Pod, string? Kubeconfig, int Port, TimeSpan Resync);

/// <summary>
/// The command line. Each option, its default and its help text are stated once, here; the
/// environment fallbacks ([NAME]) are the downward API's POD_NAME/POD_NAMESPACE and KUBECONFIG.
/// </summary>
public static class AgentCommandLine
{
    public static readonly Option<string> Group = new("--group") { Description = "The HighAvailabilityGroup (and its Lease's name)", Required = true, Recursive = true };
    public static readonly Option<string?> Pod = new("--pod") { Description = "This pod's name [POD_NAME]", Recursive = true };
    public static readonly Option<string?> Namespace = new("--namespace") { Description = "This pod's namespace [POD_NAMESPACE]", Recursive = true };
    public static readonly Option<string?> Kubeconfig = new("--kubeconfig") { Description = "Kubeconfig file [KUBECONFIG] (default: the pod's ServiceAccount)", Recursive = true };
    public static readonly Option<int> Port = new("--port") { Description = "Port of /healthz and /role on 127.0.0.1", DefaultValueFactory = _ => 8095, Recursive = true };
    public static readonly Option<TimeSpan> Resync = Duration("--resync", "Re-read the Lease at least this often (a lost watch event is found by then)", "30s", recursive: true);

    public static readonly Option<string?> OnPromote = new("--on-promote") { Description = "Command (sh -c) run when this pod becomes active" };
    public static readonly Option<string?> OnDemote = new("--on-demote") { Description = "Command (sh -c) run when this pod stops being active" };
    public static readonly Option<Uri?> PromoteUrl = new("--promote-url") { Description = "URL POSTed (JSON) when this pod becomes active" };
    public static readonly Option<Uri?> DemoteUrl = new("--demote-url") { Description = "URL POSTed (JSON) when this pod stops being active" };
    public static readonly Option<TimeSpan> HookTimeout = Duration("--hook-timeout", "A hook run longer than this is killed (process group)", "60s");
    public static readonly Option<int> HookAttempts = new("--hook-attempts") { Description = "Runs of a hook that keeps exiting 1 (or timing out) before giving up", DefaultValueFactory = _ => 5 };
    public static readonly Option<TimeSpan> HookBackoff = Duration("--hook-backoff", "Wait before the 2nd run; doubles each retry, at most 30 s", "1s");

    public static readonly Option<TimeSpan> Grace = Duration("--grace", "After SIGTERM to CMD, SIGKILL its process group this much later", "10s");
    public static readonly Argument<string[]> Command = new("command") { Description = "CMD ARGS, after --", Arity = ArgumentArity.OneOrMore };

    public static readonly Command Sidecar = new("sidecar", "Run hooks when this pod's role changes") { OnPromote, OnDemote, PromoteUrl, DemoteUrl, HookTimeout, HookAttempts, HookBackoff };
    public static readonly Command Run = new("run", "Run CMD only while this pod is active") { Grace, Command };

    public static RootCommand Root { get; } = new("failover-agent: tells a pod of a HighAvailabilityGroup its role, and fences it (docs/fencing.md)")
    {
        Group, Pod, Namespace, Kubeconfig, Port, Resync, Sidecar, Run,
    };

    /// <summary>The shared options, or an error message (a missing identity).</summary>
    public static (AgentOptions? Options, string? Error) Common(ParseResult parsed)
    {
        var pod = Blank(parsed.GetValue(Pod)) ?? Env("POD_NAME");
        var ns = Blank(parsed.GetValue(Namespace)) ?? Env("POD_NAMESPACE");
        if (pod is null || ns is null) return (null, "the pod's name and namespace are needed: --pod/--namespace or POD_NAME/POD_NAMESPACE (downward API)");
        return (new AgentOptions(parsed.GetValue(Group)!, ns, pod, Blank(parsed.GetValue(Kubeconfig)) ?? Env("KUBECONFIG"),
            parsed.GetValue(Port), parsed.GetValue(Resync)), null);
    }

    /// <summary>"60s", "500ms", "2m" or plain seconds.</summary>
    public static TimeSpan? ParseDuration(string raw)
    {
        raw = raw.Trim();
        var (number, unit) = raw.EndsWith("ms", StringComparison.Ordinal) ? (raw[..^2], 0.001)
            : raw.EndsWith('s') ? (raw[..^1], 1.0)
            : raw.EndsWith('m') ? (raw[..^1], 60.0)
            : (raw, 1.0);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? TimeSpan.FromSeconds(value * unit) : null;
    }

    private static Option<TimeSpan> Duration(string name, string description, string fallback, bool recursive = false) => new(name)
    {
        Description = $"{description} (e.g. 500ms, 10s, 2m)",
        DefaultValueFactory = _ => ParseDuration(fallback)!.Value,
        Recursive = recursive,
        CustomParser = result =>
        {
            var raw = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (ParseDuration(raw) is { } value) return value;
            result.AddError($"{name}={raw}: expected a duration like 500ms, 10s or 2m");
            return TimeSpan.Zero;
        },
    };

    private static string? Env(string name) => Blank(Environment.GetEnvironmentVariable(name));

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

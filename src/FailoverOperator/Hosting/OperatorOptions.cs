using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Hosting;

/// <summary>The operator process's options. Each option, its default and its help text are stated once, below.</summary>
public sealed record OperatorOptions
{
    public string? Namespace { get; init; }
    public string? Kubeconfig { get; init; }
    public IPAddress BindAddress { get; init; } = IPAddress.Any;
    public int MetricsPort { get; init; }
    public int HealthPort { get; init; }
    public bool LeaderElect { get; init; }
    public string LeaderElectionNamespace { get; init; } = "";
    public string LeaderElectionName { get; init; } = "";
    public TimeSpan LeaderElectionLeaseDuration { get; init; }
    public string Identity { get; init; } = "";
    public string LogFormat { get; init; } = "";
    public LogLevel LogLevel { get; init; }
    public int Workers { get; init; }

    /// <summary>Null: node heartbeats are not watched.</summary>
    public TimeSpan? NodeLeaseStaleAfter { get; init; }

    private static readonly Option<string?> NamespaceOption = new("--namespace")
    { Description = "Watch one namespace [WATCH_NAMESPACE] (default: all)" };
    private static readonly Option<string?> KubeconfigOption = new("--kubeconfig")
    { Description = "Kubeconfig file (default: in-cluster, else KUBECONFIG or ~/.kube/config)" };
    private static readonly Option<IPAddress> BindAddressOption = new("--bind-address")
    { Description = "Address of the metrics and health endpoints", DefaultValueFactory = _ => IPAddress.Any, CustomParser = ParseAddress };
    private static readonly Option<int> MetricsPortOption = Ranged("--metrics-port", "Port of /metrics", 8080, 0, 65535);
    private static readonly Option<int> HealthPortOption = Ranged("--health-port", "Port of /healthz and /readyz", 8081, 0, 65535);
    private static readonly Option<bool> LeaderElectOption = new("--leader-elect")
    { Description = "Only the holder of a Lease reconciles (true|false)", DefaultValueFactory = _ => false };
    private static readonly Option<string> LeaderElectionNamespaceOption = new("--leader-election-namespace")
    { Description = "Namespace of the election Lease [POD_NAMESPACE]", DefaultValueFactory = _ => Env("POD_NAMESPACE") ?? "default" };
    private static readonly Option<string> LeaderElectionNameOption = new("--leader-election-name")
    { Description = "Name of the election Lease", DefaultValueFactory = _ => "failover-operator-leader" };
    private static readonly Option<int> LeaderElectionLeaseSecondsOption = Ranged("--leader-election-lease-seconds", "Duration of the election Lease", 15, 2, 3600);
    private static readonly Option<string?> IdentityOption = new("--identity")
    { Description = "Leader-election identity [POD_NAME] (default: hostname_random)" };
    private static readonly Option<string> LogFormatOption = new Option<string>("--log-format")
    { Description = "Log format", DefaultValueFactory = _ => "text" }.AcceptOnlyFromAmong("text", "json");
    private static readonly Option<string> LogLevelOption = new Option<string>("--log-level")
    { Description = "Lowest level logged", DefaultValueFactory = _ => "info" }.AcceptOnlyFromAmong("debug", "info", "warning", "error");
    // A reconcile mostly waits on the API server: throughput in a mass failover is workers / write
    // latency, so the default is generous (one key never runs twice at once).
    private static readonly Option<int> WorkersOption = Ranged("--workers", "Concurrent reconciles", 32, 1, 1024);
    // Kubelets renew their node Lease every 10 s: a threshold at or below that raises false alarms.
    private static readonly Option<int> NodeLeaseStaleSecondsOption = Ranged("--node-lease-stale-seconds",
        "A member whose node's heartbeat Lease (kube-node-lease) went unrenewed this long counts as failed, reason NodeLost; 0 is off, 12 suggested", 0, 0, 3600);

    public static RootCommand Command { get; } = new("Failover Operator: keeps exactly one pod of each HighAvailabilityGroup active.")
    {
        NamespaceOption, KubeconfigOption, BindAddressOption, MetricsPortOption, HealthPortOption, LeaderElectOption,
        LeaderElectionNamespaceOption, LeaderElectionNameOption, LeaderElectionLeaseSecondsOption, IdentityOption,
        LogFormatOption, LogLevelOption, WorkersOption, NodeLeaseStaleSecondsOption,
    };

    /// <summary>The options of a command line that parsed without errors.</summary>
    public static OperatorOptions From(ParseResult parsed) => new()
    {
        Namespace = Blank(parsed.GetValue(NamespaceOption)) ?? Env("WATCH_NAMESPACE"),
        Kubeconfig = Blank(parsed.GetValue(KubeconfigOption)),
        BindAddress = parsed.GetValue(BindAddressOption)!,
        MetricsPort = parsed.GetValue(MetricsPortOption),
        HealthPort = parsed.GetValue(HealthPortOption),
        LeaderElect = parsed.GetValue(LeaderElectOption),
        LeaderElectionNamespace = parsed.GetValue(LeaderElectionNamespaceOption)!,
        LeaderElectionName = parsed.GetValue(LeaderElectionNameOption)!,
        LeaderElectionLeaseDuration = TimeSpan.FromSeconds(parsed.GetValue(LeaderElectionLeaseSecondsOption)),
        Identity = Blank(parsed.GetValue(IdentityOption)) ?? Env("POD_NAME") ?? $"{Environment.MachineName}_{Guid.NewGuid().ToString("N")[..8]}",
        LogFormat = parsed.GetValue(LogFormatOption)!,
        LogLevel = parsed.GetValue(LogLevelOption) switch
        {
            "debug" => LogLevel.Debug,
            "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.Information,
        },
        Workers = parsed.GetValue(WorkersOption),
        NodeLeaseStaleAfter = parsed.GetValue(NodeLeaseStaleSecondsOption) is > 0 and var stale ? TimeSpan.FromSeconds(stale) : null,
    };

    /// <summary>The default of the worker count, for tools that report the operator's settings.</summary>
    public static int DefaultWorkers => WorkersOption.DefaultValueFactory!(null!);

    private static Option<int> Ranged(string name, string description, int fallback, int min, int max)
    {
        var option = new Option<int>(name) { Description = $"{description} ({min}-{max})", DefaultValueFactory = _ => fallback };
        option.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<int>();
            if (value < min || value > max) r.AddError($"{name}={value}: expected a whole number from {min} to {max}");
        });
        return option;
    }

    private static IPAddress ParseAddress(ArgumentResult result)
    {
        var raw = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (IPAddress.TryParse(raw, out var address)) return address;
        result.AddError($"--bind-address={raw}: not an IP address");
        return IPAddress.Any;
    }

    private static string? Env(string name) => Blank(Environment.GetEnvironmentVariable(name));

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

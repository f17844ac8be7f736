using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Hosting;

/// <summary>Command-line (--name=value) and environment options of the operator process.</summary>
public sealed record OperatorOptions
{
    public string? Namespace { get; init; }
    public string? Kubeconfig { get; init; }
    public IPAddress BindAddress { get; init; } = IPAddress.Any;
    public int MetricsPort { get; init; } = 8080;
    public int HealthPort { get; init; } = 8081;
    public bool LeaderElect { get; init; }
    public string LeaderElectionNamespace { get; init; } = "default";
    public string LeaderElectionName { get; init; } = "failover-operator-leader";
    public TimeSpan LeaderElectionLeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public string Identity { get; init; } = "";
    public string LogFormat { get; init; } = "text";
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
    public int Workers { get; init; } = 32;

    public const string Usage = """
        Failover Operator: keeps exactly one pod of each HighAvailabilityGroup active.

        Options (--name=value; environment variables in brackets):
          --namespace=NS                    watch one namespace [WATCH_NAMESPACE] (default: all)
          --kubeconfig=PATH                 kubeconfig file (default: in-cluster, else KUBECONFIG or ~/.kube/config)
          --bind-address=IP                 address of the metrics and health endpoints (default 0.0.0.0)
          --metrics-port=PORT               /metrics (default 8080)
          --health-port=PORT                /healthz and /readyz (default 8081)
          --leader-elect=true|false         only the holder of a Lease reconciles (default false)
          --leader-election-namespace=NS    [POD_NAMESPACE] (default: default)
          --leader-election-name=NAME       (default failover-operator-leader)
          --leader-election-lease-seconds=N (default 15)
          --identity=ID                     leader-election identity [POD_NAME] (default: hostname_random)
          --log-format=text|json            (default text)
          --log-level=LEVEL                 debug, info, warning or error (default info)
          --workers=N                       concurrent reconciles (default 32)
        """;

    public static OperatorOptions From(IConfiguration config)
    {
        string? Get(string key, string? env = null)
        {
            var value = config[key];
            if (string.IsNullOrEmpty(value) && env is not null) value = Environment.GetEnvironmentVariable(env);
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        }

        int Int(string key, int fallback, int min, int max)
        {
            var raw = Get(key);
            if (raw is null) return fallback;
            if (!int.TryParse(raw, out var value) || value < min || value > max)
                throw new OptionsException($"--{key}={raw}: expected a whole number from {min} to {max}");
            return value;
        }

        bool Bool(string key, bool fallback)
        {
            var raw = Get(key);
            if (raw is null) return fallback;
            return bool.TryParse(raw, out var value) ? value : throw new OptionsException($"--{key}={raw}: expected true or false");
        }

        var bind = Get("bind-address") ?? "0.0.0.0";
        if (!IPAddress.TryParse(bind, out var bindAddress)) throw new OptionsException($"--bind-address={bind}: not an IP address");
        var logFormat = Get("log-format") ?? "text";
        if (logFormat is not ("text" or "json")) throw new OptionsException($"--log-format={logFormat}: expected text or json");
        var logLevel = (Get("log-level") ?? "info").ToLowerInvariant() switch
        {
            "debug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            var other => throw new OptionsException($"--log-level={other}: expected debug, info, warning or error"),
        };

        return new OperatorOptions
        {
            Namespace = Get("namespace", "WATCH_NAMESPACE"),
            Kubeconfig = Get("kubeconfig"),
            BindAddress = bindAddress,
            MetricsPort = Int("metrics-port", 8080, 0, 65535),
            HealthPort = Int("health-port", 8081, 0, 65535),
            LeaderElect = Bool("leader-elect", false),
            LeaderElectionNamespace = Get("leader-election-namespace", "POD_NAMESPACE") ?? "default",
            LeaderElectionName = Get("leader-election-name") ?? "failover-operator-leader",
            LeaderElectionLeaseDuration = TimeSpan.FromSeconds(Int("leader-election-lease-seconds", 15, 2, 3600)),
            Identity = Get("identity", "POD_NAME") ?? $"{Environment.MachineName}_{Guid.NewGuid().ToString("N")[..8]}",
            LogFormat = logFormat,
            LogLevel = logLevel,
            // A reconcile mostly waits on the API server: throughput in a mass failover is
            // workers / write latency, so the default is generous (one key never runs twice at once).
            Workers = Int("workers", 32, 1, 1024),
        };
    }
}

public sealed class OptionsException(string message) : Exception(message);

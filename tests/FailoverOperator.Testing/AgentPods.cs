using System.Globalization;
using System.Net;
using k8s;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>
/// Member pods that run failover-agent (the node's failover-demo/agent:local image), for the fenced
/// tests on the real node and the demo's fenced scene. The agents reach the API server through a <see cref="CuttableProxy"/> of
/// the test, listening on the node's bridge address (NODE_IP): the pods' in-cluster configuration is
/// pointed at it with KUBERNETES_SERVICE_HOST/PORT and a host alias (kubernetes.default.svc, a name in
/// the API server's certificate, resolves to NODE_IP in the pods). They authenticate with their
/// ServiceAccount, which has exactly the Role of docs/fencing.md.
///
/// Hooks and the wrapped command write lines to a directory of the host mounted into every pod
/// (hostPath), one file per pod, that the test reads directly:
///   UPTIME ROLE term=N pod=POD reason=R planned=P attempt=A    (sidecar hooks: ROLE is active or standby)
///   UPTIME start|tick|stop term=N pod=POD             (run mode: the wrapped command)
/// UPTIME is /proc/uptime: one clock for every container and the test (busybox date has no
/// sub-second format).
/// </summary>
public sealed class AgentPods : IDisposable
{
    public const string HooksMount = "/hooks";

    public string HostDir { get; }
    public string NodeIp { get; }
    public string Image { get; }
    public CuttableProxy Proxy { get; }

    /// <param name="nodeIp">hack/node.sh's NODE_IP (node.env): the bridge address pods reach</param>
    /// <param name="image">hack/node.sh's AGENT_IMAGE</param>
    /// <param name="kubeconfig">the admin kubeconfig: its API server (on loopback) is the proxy's target</param>
    /// <param name="hostDir">the host directory mounted into the pods for the logs (created)</param>
    public AgentPods(string nodeIp, string image, string kubeconfig, string hostDir)
    {
        NodeIp = nodeIp;
        Image = image;
        HostDir = hostDir;
        Directory.CreateDirectory(HostDir);
        var server = new Uri(k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig).Host);
        Proxy = CuttableProxy.To(new IPEndPoint(IPAddress.Loopback, server.Port), IPAddress.Parse(NodeIp));
        File.WriteAllText(Path.Combine(HostDir, "hook.sh"), HookScript);
        File.WriteAllText(Path.Combine(HostDir, "worker.sh"), WorkerScript);
    }

    /// <summary>
    /// The hook of both sidecar hooks. HOOKS/mode-on-promote (or -on-demote) makes it misbehave:
    /// exit1 (attempts 1 and 2 exit 1), exit2 (exit 2), hang1 (attempt 1 hangs). Every run is
    /// written to HOOKS/attempts.log; a successful one to HOOKS/POD.log.
    /// </summary>
    private const string HookScript = """
        read up _ < /proc/uptime
        mode=$(cat /hooks/mode-$FAILOVER_HOOK 2>/dev/null)
        echo "$up $FAILOVER_HOOK attempt=$FAILOVER_HOOK_ATTEMPT term=$FAILOVER_TERM pod=$FAILOVER_POD mode=$mode" >> /hooks/attempts.log
        case "$mode" in
          exit1) [ "$FAILOVER_HOOK_ATTEMPT" -lt 3 ] && exit 1 ;;
          exit2) exit 2 ;;
          hang1) [ "$FAILOVER_HOOK_ATTEMPT" -eq 1 ] && sleep 600 ;;
        esac
        read up _ < /proc/uptime
        echo "$up $FAILOVER_ROLE term=$FAILOVER_TERM pod=$FAILOVER_POD reason=$FAILOVER_REASON planned=$FAILOVER_PLANNED attempt=$FAILOVER_HOOK_ATTEMPT" >> /hooks/$FAILOVER_POD.log
        """;

    /// <summary>The wrapped command of run mode: a start line, a tick every 0.2 s, a stop line on SIGTERM.</summary>
    private const string WorkerScript = """
        line() { read up _ < /proc/uptime; echo "$up $1 term=$FAILOVER_TERM pod=$FAILOVER_POD" >> /hooks/$FAILOVER_POD.log; }
        line start
        trap 'line stop; exit 0' TERM
        while true; do line tick; sleep 0.2; done
        """;

    /// <summary>Makes a hook (on-promote, on-demote) misbehave from now on: exit1, exit2, hang1; null: behave.</summary>
    public void SetHookMode(string hook, string? mode)
    {
        var path = Path.Combine(HostDir, $"mode-{hook}");
        if (mode is null) File.Delete(path);
        else File.WriteAllText(path, mode);
    }

    /// <summary>While this file exists, a restarted wrapper container waits before it starts its agent.</summary>
    public string HoldFile(string pod) => Path.Combine(HostDir, $"hold-{pod}");

    /// <summary>The Role of docs/fencing.md for <paramref name="group"/>'s agents.</summary>
    public static V1PolicyRule[] AgentRules(string group) =>
    [
        new() { ApiGroups = ["coordination.k8s.io"], Resources = ["leases"], ResourceNames = [group], Verbs = ["get", "watch", "update"] },
        new() { ApiGroups = [""], Resources = ["pods"], Verbs = ["get", "patch"] },
        new() { ApiGroups = [""], Resources = ["events"], Verbs = ["create"] },
    ];

    /// <summary>3 pods: an app container probed like <see cref="ProbedWorkload"/>, and failover-agent as a sidecar with hooks.</summary>
    public V1Deployment SidecarDeployment(string group, string appImage, string serviceAccount, int replicas = 3)
    {
        var app = new V1Container
        {
            Name = "app",
            Image = appImage,
            ImagePullPolicy = "Never",
            Command = ["sh", "-c", $"touch {ProbedWorkload.ReadyFile} {ProbedWorkload.AliveFile}; trap 'exit 0' TERM; while true; do sleep 1; done"],
            ReadinessProbe = Probe(ProbedWorkload.ReadyFile),
            LivenessProbe = Probe(ProbedWorkload.AliveFile),
        };
        var agent = AgentContainer("agent",
        [
            "/usr/local/bin/failover-agent", "sidecar", $"--group={group}",
            $"--on-promote=sh {HooksMount}/hook.sh", $"--on-demote=sh {HooksMount}/hook.sh",
            "--hook-timeout=2s", "--hook-attempts=3", "--hook-backoff=200ms",
        ]);
        return Deployment(group, serviceAccount, [app, agent], replicas);
    }

    /// <summary>3 pods whose one container is `failover-agent run -- sh worker.sh` (the agent is its process 1).</summary>
    public V1Deployment WrapperDeployment(string group, string serviceAccount, int replicas = 3)
    {
        var worker = AgentContainer("worker",
        [
            "sh", "-c",
            $"while [ -e {HooksMount}/hold-$POD_NAME ]; do sleep 0.2; done; " +
            $"exec /usr/local/bin/failover-agent run --group={group} --grace=2s -- sh {HooksMount}/worker.sh",
        ]);
        return Deployment(group, serviceAccount, [worker], replicas);
    }

    private V1Container AgentContainer(string name, IList<string> command) => new()
    {
        Name = name,
        Image = Image,
        ImagePullPolicy = "Never",
        Command = command,
        Env =
        [
            new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
            new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
            // In-cluster configuration through the test's proxy (no kube-proxy on this node: the
            // Service IP of the API server leads nowhere).
            new V1EnvVar { Name = "KUBERNETES_SERVICE_HOST", Value = "kubernetes.default.svc" },
            new V1EnvVar { Name = "KUBERNETES_SERVICE_PORT", Value = Proxy.Port.ToString(CultureInfo.InvariantCulture) },
        ],
        VolumeMounts = [new V1VolumeMount { Name = "hooks", MountPath = HooksMount }],
    };

    private V1Deployment Deployment(string group, string serviceAccount, IList<V1Container> containers, int replicas)
    {
        var labels = new Dictionary<string, string> { ["app"] = group };
        return new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = group, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = replicas,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        // Above the agent's stop budget (demote, acknowledge, release).
                        TerminationGracePeriodSeconds = 20,
                        ServiceAccountName = serviceAccount,
                        HostAliases = [new V1HostAlias { Ip = NodeIp, Hostnames = ["kubernetes.default.svc"] }],
                        Containers = containers,
                        Volumes = [new V1Volume { Name = "hooks", HostPath = new V1HostPathVolumeSource { Path = HostDir, Type = "Directory" } }],
                    },
                },
            },
        };
    }

    private static V1Probe Probe(string file) =>
        new() { Exec = new V1ExecAction { Command = ["test", "-f", file] }, PeriodSeconds = 1, FailureThreshold = 1, TimeoutSeconds = 5 };

    /// <summary>The host's /proc/uptime: the clock of the log lines.</summary>
    public static double Uptime() => double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>Every line of every pod's log, in time order.</summary>
    public List<LogLine> Lines() =>
        Directory.EnumerateFiles(HostDir, "*.log").Where(f => Path.GetFileName(f) != "attempts.log")
            .SelectMany(File.ReadAllLines).Select(LogLine.Parse).OfType<LogLine>().OrderBy(l => l.At).ToList();

    public List<string> Attempts() =>
        File.Exists(Path.Combine(HostDir, "attempts.log")) ? [.. File.ReadAllLines(Path.Combine(HostDir, "attempts.log"))] : [];

    public string Dump() => string.Join('\n', Lines().Select(l => l.Text));

    /// <summary>
    /// The last lines of every agent container in <paramref name="ns"/> (kubectl logs), for a test's output:
    /// what an agent saw of the API server is in there, not in the hook logs.
    /// </summary>
    public async Task<string> AgentLogsAsync(IKubernetes client, string kubeconfig, string ns)
    {
        var text = new System.Text.StringBuilder();
        foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync(ns)).Items)
        {
            foreach (var container in pod.Spec.Containers.Where(c => c.Image == Image))
            {
                var logs = await ProbedWorkload.RunKubectlAsync(["logs", "-n", ns, pod.Metadata.Name, "-c", container.Name, "--tail=40", "--kubeconfig", kubeconfig],
                    TimeSpan.FromSeconds(10));
                text.Append(CultureInfo.InvariantCulture, $"--- {pod.Metadata.Name}/{container.Name} on {pod.Spec.NodeName} ---\n{logs.Output.TrimEnd()}\n");
            }
        }
        return text.ToString();
    }

    public void Dispose()
    {
        Proxy.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // Pods being deleted may still write for a few seconds (a wrapped command ticks until its grace
        // ends), and a file created during the recursive delete fails it: try again for a while.
        for (var attempt = 0; attempt < 20 && Directory.Exists(HostDir); attempt++)
        {
            try { Directory.Delete(HostDir, recursive: true); }
            catch (IOException) { Thread.Sleep(500); }
        }
    }
}

/// <summary>One line of a pod's hook or command log.</summary>
public sealed record LogLine(double At, string What, long Term, string Pod, string? Reason, string Text)
{
    public static LogLine? Parse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var at)) return null;
        string? Field(string name) => parts.FirstOrDefault(p => p.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
        return long.TryParse(Field("term"), out var term) ? new LogLine(at, parts[1], term, Field("pod") ?? "", Field("reason"), text) : null;
    }
}

/// <summary>When a pod acted, as its own log says: from a promote (or start) line to the demote (or its last) line.</summary>
public sealed record ActingInterval(string Pod, long Term, double From, double? To)
{
    public override string ToString() => $"{Pod} term {Term}: {From:0.00}–{(To is { } t ? t.ToString("0.00", CultureInfo.InvariantCulture) : "now")}";

    /// <summary>Sidecar hooks: an "active" line opens an interval, the next "standby" line of that pod closes it.</summary>
    public static List<ActingInterval> FromHooks(IEnumerable<LogLine> lines) => Build(lines, l => l.What == "active", l => l.What == "standby", lastLineCloses: false);

    /// <summary>Run mode: "start" opens; "stop" closes, or else the last line the command wrote (it was killed).</summary>
    public static List<ActingInterval> FromCommand(IEnumerable<LogLine> lines) => Build(lines, l => l.What == "start", l => l.What == "stop", lastLineCloses: true);

    private static List<ActingInterval> Build(IEnumerable<LogLine> lines, Func<LogLine, bool> opens, Func<LogLine, bool> closes, bool lastLineCloses)
    {
        var result = new List<ActingInterval>();
        foreach (var pod in lines.GroupBy(l => l.Pod))
        {
            ActingInterval? open = null;
            LogLine? last = null;
            foreach (var line in pod.OrderBy(l => l.At))
            {
                if (opens(line))
                {
                    if (open is not null) result.Add(open with { To = lastLineCloses ? last!.At : null });
                    open = new ActingInterval(pod.Key, line.Term, line.At, null);
                }
                else if (closes(line) && open is not null)
                {
                    result.Add(open with { To = line.At });
                    open = null;
                }
                last = line;
            }
            if (open is not null) result.Add(lastLineCloses && last is not null && last.What != "start" ? open with { To = last.At } : open);
        }
        return result.OrderBy(i => i.From).ToList();
    }

    /// <summary>Null when no two intervals overlap and terms grow with time; else what is wrong.</summary>
    public static string? Problem(IReadOnlyList<ActingInterval> intervals)
    {
        for (var i = 1; i < intervals.Count; i++)
        {
            var (a, b) = (intervals[i - 1], intervals[i]);
            if (a.To is null || a.To > b.From) return $"{a} overlaps {b}";
            if (b.Term <= a.Term) return $"{b} does not have a newer term than {a}";
        }
        return null;
    }
}

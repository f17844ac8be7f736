using System.Globalization;
using FailoverBench;

const string Usage = """
    FailoverBench: the failover demo and benchmark of the Failover Operator.

      dotnet FailoverBench.dll demo  [--kubeconfig=PATH] [--mode=simulated|real] [--app-image=IMAGE] [--namespace=demo]
          One group of 3 pods in namespace demo and one live failover with its timeline in ms.
          The operator must be running (hack/demo.sh up does all of it).
          --mode=simulated          (default) pods bound to a stand-in Node whose status this program writes
          --mode=real               a Deployment of busybox pods on a real node (hack/node.sh); the active's
                                    liveness probe is broken from inside its container. Needs --app-image
                                    (an image on the node, e.g. hack/node.sh's APP_IMAGE; pulled only if absent)
          --namespace=demo          where the demo's objects go (created if missing; the previous demo's are removed)

      dotnet FailoverBench.dll bench --operator-dll=PATH [--kubeconfig=PATH] [options]
          The floor, single-group failover latency, mass failover and cost (hack/bench.sh does all of it).
          --groups=100,1000         mass-failover scales N (comma-separated)
          --failovers=50            single-group failovers (and floor samples)
          --warmup=3                rounds run first and not counted
          --workers=N               passed to the operator (default: the operator's own)
          --steady-seconds=60       steady-state window per scale
          --settle-seconds=20       wait after all groups are Healthy before that window (JIT tiering settles)
          --operator-env=K=V,...    environment variables for the operator process (experiments)
          --lease-seconds=N         spec.leaseDurationSeconds of the benchmark's groups (default: the CRD's, 15)
          --budget-seconds=600      time left for this run; a scale that would not fit is made smaller (and says so)
          --concurrency=16          requests in flight while creating groups
          --burst-concurrency=64    failure writes in flight during the mass failover burst
          --results-dir=bench/results   --log-dir=.local/bench   --pid-file=PATH (the running operator's PID)
          --commit=SHA              operator commit, for the report
          --cluster=TEXT            what the cluster is, for the report

    Without --kubeconfig: KUBECONFIG, else ~/.kube/config.
    """;

// Watch loops, timers and a burst of concurrent writes share two busy cores with the control plane:
// start with enough pool threads that no continuation waits for the pool to grow.
ThreadPool.SetMinThreads(32, 32);

if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

var command = args[0];
var options = new Dictionary<string, string>(StringComparer.Ordinal);
foreach (var arg in args.Skip(1))
{
    if (!arg.StartsWith("--", StringComparison.Ordinal))
    {
        Console.Error.WriteLine($"FailoverBench: unexpected argument {arg}\n\n{Usage}");
        return 2;
    }
    var eq = arg.IndexOf('=');
    options[eq < 0 ? arg[2..] : arg[2..eq]] = eq < 0 ? "true" : arg[(eq + 1)..];
}

string? Opt(string name) => options.Remove(name, out var v) && v.Length > 0 ? v : null;
int? IntOrNull(string name) => Opt(name) is { } v ? WholeNumber(name, v) : null;
int Int(string name, int fallback) => IntOrNull(name) ?? fallback;
double Double(string name, double fallback) => Opt(name) is { } v
    ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new ArgumentException($"--{name}={v}: expected a number")
    : fallback;
static int WholeNumber(string name, string v) =>
    int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"--{name}={v}: expected a whole number");

try
{
    var kubeconfig = Opt("kubeconfig");
    int exit;
    switch (command)
    {
        case "demo":
        {
            var mode = Opt("mode") switch
            {
                null or "simulated" => DemoMode.Simulated,
                "real" => DemoMode.Real,
                var other => throw new ArgumentException($"--mode={other}: expected simulated or real"),
            };
            var appImage = Opt("app-image");
            var ns = Opt("namespace") ?? DemoCommand.DefaultNamespace;
            Reject(options);
            using var cluster = Cluster.Connect(kubeconfig);
            exit = await DemoCommand.RunAsync(cluster, mode, appImage, ns);
            break;
        }
        case "bench":
        {
            var o = new BenchOptions
            {
                OperatorDll = Path.GetFullPath(Opt("operator-dll") ?? throw new ArgumentException("--operator-dll=PATH is required")),
                Groups = (Opt("groups") ?? "100,1000").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(g => WholeNumber("groups", g)).ToArray(),
                Failovers = Int("failovers", 50),
                Warmup = Int("warmup", 3),
                Workers = IntOrNull("workers"),
                OperatorEnv = (Opt("operator-env") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
                SettleSeconds = Double("settle-seconds", 20),
                LeaseSeconds = IntOrNull("lease-seconds"),
                SteadySeconds = Double("steady-seconds", 60),
                BudgetSeconds = Double("budget-seconds", 600),
                Concurrency = Int("concurrency", 16),
                BurstConcurrency = Int("burst-concurrency", 64),
                ResultsDir = Opt("results-dir") ?? "bench/results",
                LogDir = Opt("log-dir") ?? ".local/bench",
                PidFile = Opt("pid-file"),
                Commit = Opt("commit") ?? "unknown",
                ClusterDescription = Opt("cluster") ?? "the cluster in the kubeconfig",
            };
            Reject(options);
            if (o.Groups.Any(g => g < 1) || o.Failovers < 1) throw new ArgumentException("--groups and --failovers must be positive");
            using var cluster = Cluster.Connect(kubeconfig);
            exit = await BenchCommand.RunAsync(cluster, o);
            break;
        }
        default:
            Console.Error.WriteLine($"FailoverBench: unknown command {command}\n\n{Usage}");
            return 2;
    }
    return exit;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"FailoverBench: {e.Message}\n\n{Usage}");
    return 2;
}
catch (Exception e) when (e is TimeoutException or InvalidOperationException or k8s.Autorest.HttpOperationException or HttpRequestException or TaskCanceledException or IOException)
{
    Console.Error.WriteLine($"FailoverBench {command}: error: {FailoverOperator.Runtime.ApiErrors.Describe(e)}");
    return 1;
}

static void Reject(Dictionary<string, string> unknown)
{
    if (unknown.Count > 0) throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown.Keys.Select(k => "--" + k))}");
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace FailoverOperator.Testing;

/// <summary>How to start the operator process.</summary>
/// <param name="Dll">FailoverOperator.dll; by default $FAILOVER_OPERATOR_DLL (to test another build, an older one
/// say), else the one beside this program (a project reference puts it there)</param>
/// <param name="Namespace">--namespace; null: every namespace</param>
/// <param name="LogPath">append its output to this file (the benchmark: no pipe for this process to drain);
/// null: keep it in memory (<see cref="OperatorProcess.Log"/>)</param>
/// <param name="PidFile">where its PID is written while it runs (for scripts that clean up after a crash)</param>
public sealed record OperatorLaunch(string Kubeconfig)
{
    public string Dll { get; init; } = Environment.GetEnvironmentVariable("FAILOVER_OPERATOR_DLL") is { Length: > 0 } dll
        ? dll
        : Path.Combine(AppContext.BaseDirectory, "FailoverOperator.dll");
    public string? Namespace { get; init; }
    public string? Identity { get; init; }
    public IEnumerable<string> Args { get; init; } = [];
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public string? LogPath { get; init; }
    public string? PidFile { get; init; }
}

/// <summary>
/// The operator run as its own process (<c>dotnet FailoverOperator.dll</c>), as in production, on free
/// loopback ports. Its PID gives RSS and CPU (<see cref="Sample"/>), its /metrics the request counts.
/// Every operator started here is killed when this program exits, however it exits.
/// </summary>
public sealed partial class OperatorProcess : IAsyncDisposable
{
    private static readonly List<OperatorProcess> Running = [];
    private readonly Process process;
    private readonly ConcurrentQueue<string> log = new();
    private readonly OperatorLaunch launch;
    private bool disposed;

    public int HealthPort { get; }
    public int MetricsPort { get; }
    public string Identity => launch.Identity ?? "operator";
    public int Pid { get; }
    public long StartedAt { get; }
    public bool HasExited => process.HasExited;
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Everything it wrote so far.</summary>
    public string Log => launch.LogPath is { } path ? ReadLog(path) : string.Join('\n', log);

    static OperatorProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private OperatorProcess(OperatorLaunch launch)
    {
        this.launch = launch;
        HealthPort = LocalProcess.FreePort();
        MetricsPort = LocalProcess.FreePort();
        Arguments = [.. CommandLine(launch)];
        process = new Process { StartInfo = StartInfo(), EnableRaisingEvents = true };
        if (launch.LogPath is null)
        {
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue("stderr: " + e.Data); };
        }
        StartedAt = Stopwatch.GetTimestamp();
        process.Start();
        Pid = process.Id;
        if (launch.LogPath is null)
        {
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        lock (Running) Running.Add(this);
        if (launch.PidFile is { } pidFile) File.WriteAllText(pidFile, Pid.ToString(CultureInfo.InvariantCulture));
    }

    private IEnumerable<string> CommandLine(OperatorLaunch l)
    {
        yield return l.Dll;
        yield return $"--kubeconfig={l.Kubeconfig}";
        yield return $"--health-port={HealthPort}";
        yield return $"--metrics-port={MetricsPort}";
        yield return "--bind-address=127.0.0.1";
        if (l.Identity is not null) yield return $"--identity={l.Identity}";
        if (l.Namespace is not null) yield return $"--namespace={l.Namespace}";
        foreach (var arg in l.Args) yield return arg;
    }

    private ProcessStartInfo StartInfo()
    {
        ProcessStartInfo start;
        if (launch.LogPath is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, $"---- {DateTime.UtcNow:O} starting the operator ----\n");
            // bash execs dotnet with its output appended to the log: same PID, and no pipe to drain.
            start = new ProcessStartInfo("bash", ["-c", "exec dotnet \"$@\" >>\"$0\" 2>&1", path, .. Arguments]);
        }
        else
        {
            start = new ProcessStartInfo("dotnet", Arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        }
        foreach (var (name, value) in launch.Env) start.Environment[name] = value;
        return start;
    }

    /// <summary>Starts it; with <paramref name="waitReady"/>, returns once /readyz answers 200 (caches synced).</summary>
    public static async Task<OperatorProcess> StartAsync(OperatorLaunch launch, bool waitReady = true)
    {
        if (!File.Exists(launch.Dll)) throw new FileNotFoundException($"the operator is not at {launch.Dll} (build or publish src/FailoverOperator)", launch.Dll);
        var op = new OperatorProcess(launch);
        if (waitReady) await op.WaitReadyAsync();
        return op;
    }

    /// <summary>Waits for /readyz to answer 200; returns the <see cref="Stopwatch"/> timestamp it first did.</summary>
    public async Task<long> WaitReadyAsync(TimeSpan? timeout = null)
    {
        (int Status, string Body)? readiness = null;
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited) throw new WaitAbortedException($"operator {Identity} exited with {process.ExitCode}:\n{Tail(40)}");
            readiness = await ReadinessAsync();
            return readiness.Value.Status == 200;
        }, timeout ?? TimeSpan.FromSeconds(60), $"operator {Identity} to be ready",
            () => Task.FromResult(readiness is { } r ? $"/readyz answered {r.Status}: {r.Body}" : $"/readyz never answered\n{Tail(20)}"));
        return Stopwatch.GetTimestamp();
    }

    /// <summary>/readyz as (HTTP status, body).</summary>
    public Task<(int Status, string Body)> ReadinessAsync() => ProbeAsync("/readyz");

    /// <summary>/healthz as (HTTP status, body): what a liveness probe sees.</summary>
    public Task<(int Status, string Body)> LivenessAsync() => ProbeAsync("/healthz");

    private async Task<(int Status, string Body)> ProbeAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var response = await http.GetAsync($"http://127.0.0.1:{HealthPort}{path}");
        return ((int)response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
    }

    public string Tail(int lines) => string.Join('\n', Log.Split('\n').TakeLast(lines));

    /// <summary>SIGTERM, as the kubelet sends on pod deletion; waits for a clean exit.</summary>
    public async Task StopGracefullyAsync()
    {
        if (process.HasExited) return;
        LocalProcess.Signal(Pid, LocalProcess.SigTerm);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Forget();
    }

    /// <summary>SIGTERM, then SIGKILL if it has not exited after 10 s.</summary>
    public async Task StopAsync()
    {
        try { await StopGracefullyAsync().WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { await KillAsync(); }
        Forget();
    }

    /// <summary>SIGKILL: no chance to release anything.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        Forget();
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        try { await KillAsync(); } catch (InvalidOperationException) { }
        process.Dispose();
    }

    private void Forget()
    {
        lock (Running) Running.Remove(this);
        if (launch.PidFile is { } pidFile) try { File.Delete(pidFile); } catch (IOException) { }
    }

    private static void KillAll()
    {
        lock (Running)
        {
            foreach (var op in Running)
            {
                try { if (!op.process.HasExited) op.process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
    }

    private static string ReadLog(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
    }


}

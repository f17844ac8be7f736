using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace FailoverBench;

/// <summary>
/// The operator as its own process (<c>dotnet FailoverOperator.dll</c>, as in production), started by the
/// benchmark so that its PID is known: RSS and CPU come from /proc/PID, request counts from its /metrics.
/// </summary>
public sealed partial class OperatorHost : IAsyncDisposable
{
    private static readonly List<OperatorHost> Running = [];
    private readonly Process process;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly HttpClient probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string? pidFile;

    public int Pid { get; }
    public int MetricsPort { get; }
    public int HealthPort { get; }
    public long StartedAt { get; }
    public string LogPath { get; }
    public IReadOnlyList<string> Arguments { get; }

    static OperatorHost()
    {
        // Never leave an operator behind: on normal exit, Ctrl+C or SIGTERM the running ones are killed.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private OperatorHost(string dll, string kubeconfig, IEnumerable<string> extraArgs, IReadOnlyDictionary<string, string> env, string logPath, string? pidFile)
    {
        MetricsPort = FreePort();
        HealthPort = FreePort();
        LogPath = logPath;
        this.pidFile = pidFile;
        Arguments =
        [
            dll, $"--kubeconfig={kubeconfig}", $"--metrics-port={MetricsPort}", $"--health-port={HealthPort}",
            "--bind-address=127.0.0.1", .. extraArgs,
        ];
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        // bash execs dotnet with its output appended to the log: same PID, and no pipe for this process to drain.
        var start = new ProcessStartInfo("bash", ["-c", "exec dotnet \"$@\" >>\"$0\" 2>&1", logPath, .. Arguments])
        {
            UseShellExecute = false,
        };
        foreach (var (name, value) in env) start.Environment[name] = value;
        StartedAt = Stopwatch.GetTimestamp();
        process = Process.Start(start) ?? throw new InvalidOperationException("could not start the operator");
        Pid = process.Id;
        lock (Running) Running.Add(this);
        if (pidFile is not null) File.WriteAllText(pidFile, Pid.ToString(CultureInfo.InvariantCulture));
    }

    public static OperatorHost Start(string dll, string kubeconfig, IEnumerable<string> extraArgs, IReadOnlyDictionary<string, string> env, string logPath, string? pidFile)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"operator not found at {dll} (dotnet publish src/FailoverOperator -c Release -o .local/publish)");
        File.AppendAllText(logPath, $"---- {DateTime.UtcNow:O} starting the operator for the benchmark ----\n");
        return new OperatorHost(dll, kubeconfig, extraArgs, env, logPath, pidFile);
    }

    /// <summary>The default worker count the operator's --help states, e.g. "--workers=32", or "" if not found.</summary>
    public static async Task<string> DefaultsAsync(string dll)
    {
        try
        {
            var start = new ProcessStartInfo("dotnet", [dll, "--help"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var text = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var m = Regex.Match(text, @"--workers=N\s.*\(default (\d+)\)");
            return m.Success ? $"--workers={m.Groups[1].Value}" : "";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "";
        }
    }

    /// <summary>Waits for /readyz (informer caches synced); returns the timestamp it first answered 200.</summary>
    public async Task<long> WaitReadyAsync(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"the operator exited with code {process.ExitCode}; log: {LogPath}\n{Tail(20)}");
            try
            {
                using var response = await probe.GetAsync($"http://127.0.0.1:{HealthPort}/readyz");
                if (response.IsSuccessStatusCode) return Stopwatch.GetTimestamp();
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (watch.Elapsed > timeout) throw new TimeoutException($"the operator was not ready after {timeout.TotalSeconds:0} s; log: {LogPath}\n{Tail(20)}");
            await Task.Delay(20);
        }
    }

    public string Tail(int lines)
    {
        try { return string.Join('\n', File.ReadLines(LogPath).TakeLast(lines)); }
        catch (IOException) { return ""; }
    }

    /// <summary>All failover_operator_* series of /metrics, keyed by name and labels as printed.</summary>
    public async Task<Metrics> ScrapeAsync()
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{MetricsPort}/metrics");
        var series = new Dictionary<string, double>();
        foreach (Match m in SeriesLine().Matches(text))
        {
            series[m.Groups["series"].Value] = double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return new Metrics(series);
    }

    /// <summary>failover_operator_api_requests_total by "VERB code".</summary>
    public async Task<Dictionary<string, double>> ApiRequestsAsync() => (await ScrapeAsync()).ApiRequests();

    [GeneratedRegex(@"^(?<series>failover_operator_[a-z_]+(\{[^}]*\})?) (?<value>[0-9.eE+-]+|NaN)", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();

    /// <summary>RSS, peak RSS (VmHWM) and user+system CPU of the operator process, from /proc.</summary>
    public ProcSample Sample()
    {
        var status = File.ReadAllLines($"/proc/{Pid}/status");
        long Kb(string key) => long.Parse(status.First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        // Fields after the command name (which may contain spaces) start at state; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new ProcSample(Stopwatch.GetTimestamp(), Kb("VmRSS") / 1024.0, Kb("VmHWM") / 1024.0, ticks / (double)ClockTicksPerSecond,
            Kb("RssAnon") / 1024.0, Kb("RssFile") / 1024.0, Kb("RssShmem") / 1024.0);
    }

    private static readonly long ClockTicksPerSecond = SysConf(2) is var t and > 0 ? t : 100; // _SC_CLK_TCK

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    /// <summary>SIGTERM, then SIGKILL after 10 s.</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            _ = Kill(Pid, 15);
            try { await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (TimeoutException) { process.Kill(entireProcessTree: true); await process.WaitForExitAsync(); }
        }
        lock (Running) Running.Remove(this);
        if (pidFile is not null) try { File.Delete(pidFile); } catch (IOException) { }
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

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process.Dispose();
        http.Dispose();
        probe.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>RSS split as the kernel counts it: anonymous (heaps), file-backed (mapped assemblies and
/// libraries, shareable) and shared memory (.NET's W^X double mapping of JIT-compiled code).</summary>
public sealed partial record Metrics(IReadOnlyDictionary<string, double> Series)
{
    public Dictionary<string, double> ApiRequests()
    {
        var result = new Dictionary<string, double>();
        foreach (var (key, value) in Series)
        {
            if (!key.StartsWith("failover_operator_api_requests_total{", StringComparison.Ordinal)) continue;
            result[$"{VerbLabel().Match(key).Groups[1].Value} {CodeLabel().Match(key).Groups[1].Value}"] = value;
        }
        return result;
    }

    /// <summary>Sum of the series whose name (and labels) start with <paramref name="prefix"/>.</summary>
    public double Sum(string prefix) => Series.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    [GeneratedRegex("verb=\"([^\"]*)\"")]
    private static partial Regex VerbLabel();

    [GeneratedRegex("code=\"([^\"]*)\"")]
    private static partial Regex CodeLabel();
}

public sealed record ProcSample(long At, double RssMb, double PeakRssMb, double CpuSeconds, double AnonMb, double FileMb, double ShmemMb);

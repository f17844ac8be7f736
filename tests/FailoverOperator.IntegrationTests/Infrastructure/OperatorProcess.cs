using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>The operator run as its own process (dotnet FailoverOperator.dll), as in production.</summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> log = new();
    private bool disposed;

    public int HealthPort { get; }
    public int MetricsPort { get; }
    public string Identity { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;
    public string Log => string.Join('\n', log);

    private OperatorProcess(string kubeconfig, string? ns, string identity, IEnumerable<string> extraArgs, IDictionary<string, string>? env)
    {
        Identity = identity;
        HealthPort = FreePort();
        MetricsPort = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "FailoverOperator.dll");
        var args = new List<string>
        {
            dll, $"--kubeconfig={kubeconfig}", $"--health-port={HealthPort}", $"--metrics-port={MetricsPort}",
            "--bind-address=127.0.0.1", $"--identity={identity}",
        };
        if (ns is not null) args.Add($"--namespace={ns}");
        args.AddRange(extraArgs);
        var start = new ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue("stderr: " + e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static async Task<OperatorProcess> StartAsync(string kubeconfig, string? ns, string identity = "test-operator",
        IEnumerable<string>? extraArgs = null, bool waitReady = true, IDictionary<string, string>? env = null)
    {
        var op = new OperatorProcess(kubeconfig, ns, identity, extraArgs ?? [], env);
        if (waitReady) await op.WaitReadyAsync();
        return op;
    }

    public async Task WaitReadyAsync()
    {
        (int Status, string Body)? readiness = null;
        await Wait.UntilAsync(async () =>
        {
            if (process.HasExited) throw new Xunit.Sdk.XunitException($"operator exited with {process.ExitCode}:\n{Log}");
            readiness = await ReadinessAsync();
            return readiness.Value.Status == 200;
        }, TimeSpan.FromSeconds(60), $"operator {Identity} to be ready",
            () => Task.FromResult(readiness is { } r ? $"/readyz answered {r.Status}: {r.Body}" : "/readyz never answered"));
    }

    /// <summary>/readyz as (HTTP status, body).</summary>
    public async Task<(int Status, string Body)> ReadinessAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var response = await http.GetAsync($"http://127.0.0.1:{HealthPort}/readyz");
        return ((int)response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
    }

    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetStringAsync($"http://127.0.0.1:{MetricsPort}/metrics");
    }

    /// <summary>The value of one sample (name with its labels, as exposed) or null when absent. Comment lines are skipped.</summary>
    public async Task<double?> MetricAsync(string sample)
    {
        foreach (var line in (await MetricsAsync()).Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(sample + " ", StringComparison.Ordinal)) continue;
            return double.Parse(line[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    public async Task<bool> IsLeaderAsync() => await MetricAsync("failover_operator_leader") == 1;

    /// <summary>SIGTERM, as the kubelet sends on pod deletion; waits for a clean exit.</summary>
    public async Task StopGracefullyAsync()
    {
        if (process.HasExited) return;
        _ = Kill(process.Id, 15);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGKILL: no chance to release anything.</summary>
    public async Task KillAsync()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        try { await KillAsync(); } catch (InvalidOperationException) { }
        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}

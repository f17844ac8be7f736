using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>
/// failover-agent run as its own process (dotnet failover-agent.dll), as a pod's container runs it;
/// with FAILOVER_AGENT_BINARY set (hack/agent-image.sh publish), the Native AOT binary instead.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> log = new();
    private bool disposed;

    public string Pod { get; }
    public int Pid => process.Id;
    public int Port { get; }
    public string Log => string.Join('\n', log);
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    /// <summary>The agent's build of the same configuration as these tests (bin/CONFIGURATION/TFM/); built by the project reference.</summary>
    private static string Dll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = RepoPaths.Of("src", "FailoverAgent", "bin", output.Parent!.Name, output.Name, "failover-agent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build the integration tests (they reference the agent)", dll);
        }
    }

    /// <param name="mode">sidecar or run.</param>
    /// <param name="args">The mode's own options (and for run: "--", CMD, ARGS).</param>
    public AgentProcess(string mode, string kubeconfig, string ns, string pod, string group, IEnumerable<string> args)
    {
        Pod = pod;
        Port = LocalProcess.FreePort();
        string[] agentArgs = [mode, $"--group={group}", $"--kubeconfig={kubeconfig}", $"--port={Port}", "--resync=2s", .. args];
        var start = Environment.GetEnvironmentVariable("FAILOVER_AGENT_BINARY") is { Length: > 0 } binary
            ? new ProcessStartInfo(binary, agentArgs) : new ProcessStartInfo("dotnet", [Dll, .. agentArgs]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // Identity as the downward API gives it.
        start.Environment["POD_NAME"] = pod;
        start.Environment["POD_NAMESPACE"] = ns;
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue("stdout: " + e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public sealed record Role(string role, long term, string? holder, string? lastRenewal, string? observedResourceVersion);

    public async Task<Role> RoleAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        return JsonSerializer.Deserialize<Role>(await http.GetStringAsync($"http://127.0.0.1:{Port}/role"))!;
    }

    public async Task<(int Status, string Body)> HealthAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var response = await http.GetAsync($"http://127.0.0.1:{Port}/healthz");
        return ((int)response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
    }

    /// <summary>Waits until the agent has read the Lease at this resourceVersion (or a later one it wrote itself).</summary>
    public Task WaitObservedAsync(string resourceVersion, string what) =>
        Wait.UntilAsync(async () =>
        {
            if (process.HasExited) throw new Xunit.Sdk.XunitException($"the agent exited with {process.ExitCode}:\n{Log}");
            var seen = (await RoleAsync()).observedResourceVersion;
            return seen is not null && long.Parse(seen) >= long.Parse(resourceVersion);
        }, Wait.Default, what, () => Task.FromResult(Log));

    /// <summary>SIGTERM, as the kubelet sends at pod deletion; waits for the exit.</summary>
    public async Task<int> StopGracefullyAsync(TimeSpan timeout)
    {
        LocalProcess.Signal(process.Id, LocalProcess.SigTerm);
        await process.WaitForExitAsync().WaitAsync(timeout);
        return process.ExitCode;
    }

    /// <summary>Kills the agent (SIGKILL, with what it started); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        process.Dispose();
    }


}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using FailoverOperator.Failover;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>A measurement, not a check: runs only with SWITCH=1, which its script under hack/node/ sets.</summary>
public sealed class FiguresFactAttribute : FactAttribute
{
    public FiguresFactAttribute(string @switch, string script)
    {
        if (Environment.GetEnvironmentVariable(@switch) != "1") Skip = $"a measurement, not a check: {script} runs it ({@switch}=1)";
    }

    /// <summary>A measurement's setting from its script's environment: a positive whole number, else <paramref name="fallback"/>.</summary>
    public static int Setting(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) && value > 0 ? value : fallback;
}

/// <summary>
/// The figures of docs/fencing.md, measured in one run on the real node with one operator: failover
/// time in Label mode and in Agent mode with an acknowledging agent (the same readiness failure,
/// alternated), API writes per group per minute at rest in both modes, and the time from cutting the
/// active's agent off the API server to the new active's promote hook with a 15 s lease.
/// </summary>
public partial class FencedRealNodeTests
{
    [FiguresFact("FENCED_FIGURES", "hack/node/fenced-figures.sh")]
    public async Task Figures()
    {
        const int leaseSeconds = 15;
        var rounds = FiguresFactAttribute.Setting("FENCED_FIGURES_ROUNDS", 5);
        var restWindow = TimeSpan.FromSeconds(FiguresFactAttribute.Setting("FENCED_FIGURES_REST_SECONDS", 60));
        var figures = new List<string>();
        void Figure(string line)
        {
            figures.Add(line);
            Output.WriteLine("figure: " + line);
        }

        // Label mode: the probed busybox pods of the other real-node tests, no agent.
        await Client.AppsV1.CreateNamespacedDeploymentAsync(ProbedWorkload.Deployment("lbl", node.AppImage, "Never"), Ns);
        var (agentActive, _) = await StartSidecarGroupAsync("agt", leaseSeconds);
        await Wait.UntilAsync(async () => (await ReadyPodsAsync("lbl")).Count == 3, TimeSpan.FromMinutes(2), "3 Ready pods of lbl");
        await CreateGroupAsync("lbl", "lbl", s => { s.Fencing = FencingModes.Label; s.LeaseDurationSeconds = leaseSeconds; });
        var labelActive = await WaitForActiveAsync("lbl", "lbl", timeout: TimeSpan.FromSeconds(60));

        // 1. Writes at rest.
        await using (var counter = await WriteCounter.StartAsync(Cluster.Watches, Ns))
        {
            // Settle: the first promotion's Events and status writes are not "at rest".
            await Wait.UntilAsync(async () => (await GetGroupAsync("agt")).Status?.ReadyStandbys == 2 && (await GetGroupAsync("lbl")).Status?.ReadyStandbys == 2,
                Wait.Default, "both groups settled");
            await Task.Delay(TimeSpan.FromSeconds(3));
            counter.Start();
            var window = Stopwatch.StartNew();
            await Task.Delay(restWindow);   // the measurement window itself, not a wait for a condition
            counter.Stop();
            var minutes = window.Elapsed.TotalMinutes;
            Output.WriteLine($"writes in {window.Elapsed.TotalSeconds:0} s: {counter.Describe()}");
            Figure($"API writes per group per minute at rest, Label mode: {counter.WritesOf("lbl") / minutes:0.0} (lease {leaseSeconds} s, {window.Elapsed.TotalSeconds:0} s window: {counter.Describe("lbl")})");
            Figure($"API writes per group per minute at rest, Agent mode: {counter.WritesOf("agt") / minutes:0.0} (the agent renews every {leaseSeconds}/3 s: {counter.Describe("agt")})");
        }

        // 2. Failover time, the two modes alternated: the readiness of the active fails.
        var label = new List<(double Operator, double Seen)>();
        var agent = new List<(double Operator, double Seen)>();
        for (var i = 0; i < rounds; i++)
        {
            (labelActive, var l) = await MeasureFailoverAsync("lbl", labelActive);
            label.Add(l);
            (agentActive, var a) = await MeasureFailoverAsync("agt", agentActive);
            agent.Add(a);
        }
        static string Stats(List<(double Operator, double Seen)> xs) =>
            $"operator (detected → completed) median {Median(xs.Select(x => x.Operator)):0} ms [{string.Join(", ", xs.Select(x => x.Operator.ToString("0", CultureInfo.InvariantCulture)))}], " +
            $"seen by the test (rm /tmp/ready → new active labelled) median {Median(xs.Select(x => x.Seen)):0} ms";
        Figure($"failover, Label mode ({rounds}×): {Stats(label)}");
        Figure($"failover, Agent mode with an acknowledging agent ({rounds}×): {Stats(agent)}");
        Figure($"Agent/Label ratio of the medians: operator {Median(agent.Select(x => x.Operator)) / Median(label.Select(x => x.Operator)):0.0}×, " +
               $"seen {Median(agent.Select(x => x.Seen)) / Median(label.Select(x => x.Seen)):0.0}×");

        // 3. The active's agent cut off, 15 s lease: to the new active's promote hook.
        var term = await TermAsync("agt");
        var ip = IPAddress.Parse((await Client.CoreV1.ReadNamespacedPodAsync(agentActive, Ns)).Status.PodIP);
        var cut = agentActive;
        var cutAt = AgentPods.Uptime();
        pods.Proxy.Cut(ip);
        var next = await WaitForActiveAsync("agt", "agt", a => a != cut, TimeSpan.FromSeconds(120));
        var promote = await PromoteLineAsync(next, term + 1);
        var demote = await DemoteLineAsync(cut, term);
        pods.Proxy.Restore(ip);
        Figure($"cut-off to new active (lease {leaseSeconds} s): old agent demoted itself after {(demote.At - cutAt):0.0} s, " +
               $"new active's promote hook after {(promote.At - cutAt):0.0} s");

        if (Environment.GetEnvironmentVariable("FENCED_FIGURES_OUT") is { Length: > 0 } path) await File.WriteAllLinesAsync(path, figures);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Fails the active's readiness, waits for the new active, restores the old pod and waits for 3 Ready pods again.</summary>
    private async Task<(string Active, (double Operator, double Seen) Times)> MeasureFailoverAsync(string group, string active)
    {
        var failovers = (await GetGroupAsync(group)).Status?.FailoverCount ?? 0;
        await ExecAsync(active, "rm", ProbedWorkload.ReadyFile);
        var clock = Stopwatch.StartNew();
        var next = await WaitForActiveAsync(group, group, a => a != active, TimeSpan.FromSeconds(60));
        var seen = clock.Elapsed.TotalMilliseconds;
        var status = (await GetGroupAsync(group)).Status!;
        Assert.Equal(failovers + 1, status.FailoverCount);
        await ExecAsync(active, "touch", ProbedWorkload.ReadyFile);
        await Wait.UntilAsync(async () => (await ReadyPodsAsync(group)).Count == 3 && (await GetGroupAsync(group)).Status?.ReadyStandbys == 2,
            TimeSpan.FromSeconds(60), $"3 Ready pods of {group} again");
        return (next, (status.LastFailover!.DurationMilliseconds ?? double.NaN, seen));
    }
}

using System.Diagnostics;
using FailoverOperator.Failover;
using k8s;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// The node-loss figures of docs/fencing.md (issue 15's acceptance), on the two real nodes with one
/// operator (--node-lease-stale-seconds=12) and 15 s group leases: from the moment the active's
/// kubelet is frozen to the new active, in Label mode (the Service's Endpoints list only the new
/// active), in Agent mode with a partition (the node's pods cut off too: the old active's lease must
/// expire) and in Agent mode with the pods still reaching the API server (the agent acknowledges).
/// Each round fails the node of the current active, then heals it and waits for a Ready standby again.
/// </summary>
public partial class NodeLossRealNodeTests
{
    [FiguresFact("NODE_LOSS_FIGURES", "hack/node/node-loss-figures.sh")]
    public async Task Figures()
    {
        const int leaseSeconds = 15;
        var rounds = FiguresFactAttribute.Setting("NODE_LOSS_FIGURES_ROUNDS", 3);
        var figures = new List<string>();
        void Figure(string line)
        {
            figures.Add(line);
            Output.WriteLine("figure: " + line);
        }
        static string Stats(List<double> xs) =>
            $"median {Median(xs):0.0} s, max {xs.Max():0.0} s [{string.Join(", ", xs.Select(x => x.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))}]";

        // Label mode: stop the active's kubelet, until the Endpoints list only the standby on the other node.
        var active = await StartLabelGroupAsync("lbl", leaseSeconds);
        var label = new List<double>();
        var labelDetected = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            var lost = await NodeOfAsync(active);
            var next = (await RolesAsync("lbl")).Keys.Single(p => p != active);
            var clock = Stopwatch.StartNew();
            var stoppedAt = DateTimeOffset.UtcNow;
            await StopKubeletAsync(lost);
            await WaitForEndpointsAsync("lbl", next, TimeSpan.FromSeconds(60));
            label.Add(clock.Elapsed.TotalSeconds);
            var failover = await LastFailoverAsync("lbl", next);
            Assert.Equal((active, FailoverReasons.NodeLost), (failover.From, failover.Reason));
            labelDetected.Add((failover.DetectedAt!.Value - stoppedAt).TotalSeconds);
            await HealAsync();
            await WaitForHealthyAsync("lbl", readyStandbys: 1, TimeSpan.FromSeconds(60));
            await WaitForNodesReadyAsync();
            active = next;
        }
        Figure($"node loss → Endpoints list only the new active, Label mode ({rounds}×): {Stats(label)}; operator detected NodeLost {Stats(labelDetected)} after the stop");
        foreach (var pod in (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=lbl")).Items)
        {
            await Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Ns);
        }

        // Agent mode, partition and plain node stop, alternated.
        (active, var term) = await StartAgentGroupAsync("agt", leaseSeconds);
        var partition = new List<double>();
        var selfDemotion = new List<double>();
        var stop = new List<double>();
        var reasons = new List<string?>();
        for (var i = 0; i < 2 * rounds; i++)
        {
            var partitioned = i % 2 == 0;
            var lost = await NodeOfAsync(active);
            var at = AgentPods.Uptime();
            if (partitioned) await PartitionAsync(lost);
            else await StopKubeletAsync(lost);
            var next = await WaitForActiveAsync("agt", "agt", a => a != active, TimeSpan.FromSeconds(90));
            var promote = await PromoteLineAsync(next, term + 1);
            var demote = await DemoteLineAsync(active, term);
            Assert.True(demote.At <= promote.At, $"{active} demoted at {demote.At}, after {next} was promoted at {promote.At}");
            var reason = (await LastFailoverAsync("agt", next)).Reason;
            reasons.Add(reason);
            if (partitioned)
            {
                partition.Add(promote.At - at);
                selfDemotion.Add(demote.At - at);
            }
            else
            {
                stop.Add(promote.At - at);
            }
            await HealAsync();
            await WaitForHealthyAsync("agt", readyStandbys: 1, TimeSpan.FromSeconds(60));
            await WaitForNodesReadyAsync();
            (active, term) = (next, term + 1);
        }
        Figure($"node loss with a partition → new active's promote hook, Agent mode ({rounds}×): {Stats(partition)}; the isolated old active demoted itself after {Stats(selfDemotion)}");
        Figure($"node loss, pods still reaching the API server → new active's promote hook, Agent mode ({rounds}×): {Stats(stop)}");
        // With a partition, the unrenewed group Lease (2/3 to 3/3 of a lease after the cut) can be seen before the stale node Lease.
        Figure($"failover reasons, Agent mode (partition, stop, alternated): {string.Join(", ", reasons)}");

        if (Environment.GetEnvironmentVariable("NODE_LOSS_FIGURES_OUT") is { Length: > 0 } path) await File.WriteAllLinesAsync(path, figures);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

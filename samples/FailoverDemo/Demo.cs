using FailoverOperator.Failover;
using FailoverOperator.Testing;

namespace FailoverDemo;

/// <summary>
/// One group of three pods in a namespace, a Service that follows the active, and one live failover
/// with its timeline in milliseconds: six steps. Re-runnable: the previous demo objects are removed first.
/// The operator must already be running (hack/demo.sh starts it).
/// </summary>
/// <param name="afterReset">run once the namespace is clean (the fenced scene starts its pods there)</param>
public sealed class Demo(Cluster cluster, DemoWorkload workload, string ns, Func<Task>? afterReset = null)
{
    public const string DefaultNamespace = "demo";
    public const string GroupName = "demo";
    public const string ServiceName = "demo-active";
    public const int Members = 3;

    public async Task<int> RunAsync()
    {
        Console.WriteLine(workload.Banner);
        await cluster.RequireCrdAsync();
        DemoOutput.Step(1, $"namespace {ns}: {await DemoReset.RunAsync(cluster, ns)}");
        if (afterReset is not null) await afterReset();

        await using var timeline = await FailoverTimeline.StartAsync(cluster.Watches, ns, watchEndpoints: true);
        await cluster.CreateActiveServiceAsync(ns, ServiceName, GroupName);
        await workload.CreatePodsAsync(timeline);
        DemoOutput.Detail($"Service {ServiceName} selects app={GroupName},{Cluster.RoleLabel}={Roles.Active} (port 80 -> 8080)");

        var active = await ElectAsync(timeline);
        var restartsBefore = timeline.Pod(active)!.Restarts;
        var failoversBefore = timeline.Group(GroupName)?.FailoverCount ?? 0;
        var failover = await workload.FailAsync(timeline, active);
        var r = await failover.WaitAsync(workload.FailoverTimeout);

        workload.PrintFailure(r);
        PrintTimeline(timeline, r);
        await workload.PrintAftermathAsync(timeline, r, restartsBefore);
        await PrintOperatorRecordAsync(timeline, r, failoversBefore);
        await PrintResultAsync(r);
        return 0;
    }

    /// <summary>Step 3: the group is created and the operator elects an active; the Service follows.</summary>
    private async Task<string> ElectAsync(FailoverTimeline timeline)
    {
        await cluster.CreateGroupAsync(ns, GroupName);
        DemoOutput.Step(3, $"HighAvailabilityGroup {GroupName} created (selector app={GroupName}); the operator elects an active:");
        await timeline.WaitAsync(() => timeline.IsSteady(GroupName, Members, ServiceName), TimeSpan.FromSeconds(60),
            "the operator to elect an active and the Service's Endpoints to follow (is the operator running? see its log)");
        await DemoOutput.KubectlAsync(cluster.KubeconfigPath, "get", "hag", "-n", ns);
        var active = timeline.ActiveOf(GroupName)!;
        DemoOutput.Detail($"active: {active} ({timeline.Pod(active)?.Ip}); Lease {ns}/{GroupName} held by {timeline.LeaseHolder(GroupName)}; " +
                          $"Service {ServiceName} -> Endpoints {timeline.Endpoints(ServiceName)}");
        return active;
    }

    /// <summary>Step 5's milestones: the Lease, the label, the Endpoints.</summary>
    private void PrintTimeline(FailoverTimeline timeline, FailoverResult r)
    {
        DemoOutput.Line(r.LeaseMs, "Lease moved", $"Lease {ns}/{GroupName}: holder {r.From} -> {r.LeaseHolder}");
        DemoOutput.Line(r.LabelledMs, "new active labelled", $"{r.To} {Cluster.RoleLabel}={Roles.Active} ({r.From} is standby)");
        DemoOutput.Line(r.EndpointsMs!.Value, "Endpoints switched", $"Service {ServiceName} -> {timeline.Pod(r.To)?.Ip} only (was {timeline.Pod(r.From)?.Ip})");
        if (r.LabelledMs < r.LeaseMs || r.EndpointsMs < r.LabelledMs || r.ObservedMs > r.LeaseMs)
        {
            DemoOutput.Detail("(each kind arrives on its own watch stream; on a busy machine they may be a few ms out of causal order)");
        }
        if (r.ObservedMs is { } observed && observed < r.LeaseMs)
        {
            DemoOutput.Detail($"the operator's part, from Ready=False to the new label: {r.LabelledMs - observed:0.0} ms");
        }
    }

    private async Task PrintOperatorRecordAsync(FailoverTimeline timeline, FailoverResult r, int failoversBefore)
    {
        try
        {
            await timeline.WaitAsync(() => timeline.Group(GroupName) is { Phase: GroupPhase.Healthy } g && g.ActivePod == r.To && g.FailoverCount > failoversBefore,
                TimeSpan.FromSeconds(10), "the group's status to record the failover");
            var last = (await cluster.GetGroupAsync(ns, GroupName))?.Status?.LastFailover;
            if (last is not null)
            {
                DemoOutput.Detail($"the operator's own record (status.lastFailover): {last.From} -> {last.To}, reason {last.Reason}, " +
                                  $"{last.DurationMilliseconds} ms from its seeing the failure to the new label");
            }
        }
        catch (TimeoutException)
        {
            DemoOutput.Detail("(the group's status did not record the failover within 10 s)");
        }
    }

    /// <summary>Step 6: kubectl's own view of the result.</summary>
    private async Task PrintResultAsync(FailoverResult r)
    {
        DemoOutput.Step(6, "the result:");
        await DemoOutput.KubectlAsync(cluster.KubeconfigPath, "get", "hag,pods,lease", "-n", ns, "-L", Cluster.RoleLabel);
        await DemoOutput.KubectlAsync(cluster.KubeconfigPath, "get", "endpoints", ServiceName, "-n", ns);
        if (workload.Epilogue(r) is { } epilogue) DemoOutput.Detail(epilogue);
    }
}

using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>The operator, run as a process, against the genuine API server with kubelet-stand-in pods.</summary>
[Collection(ControlPlaneCollection.Name)]
public class FailoverTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    [Fact]
    public async Task AGroupOfThreeReadyPodsGetsExactlyOneActive()
    {
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");

        var active = await WaitForActiveAsync("db", "db");
        var roles = await RolesAsync("db");
        Assert.Equal(2, roles.Values.Count(r => r == Roles.Standby));
        Assert.Equal("db-0", active); // all Ready at about the same time: the one Ready the longest
        var group = await GetGroupAsync("db");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "phase Healthy");
        group = await GetGroupAsync("db");
        Assert.Equal(2, group.Status!.ReadyStandbys);
        Assert.Equal(0, group.Status.FailoverCount);
        Assert.Equal(group.Metadata.Generation, group.Status.ObservedGeneration);
        Assert.Equal("True", group.Status.Conditions!.Single(c => c.Type == "Available").Status);
        var lease = (await GetLeaseAsync("db"))!;
        Assert.Equal(active, lease.Spec.HolderIdentity);
        Assert.Equal(15, lease.Spec.LeaseDurationSeconds);
        var owner = Assert.Single(lease.Metadata.OwnerReferences);
        Assert.Equal((group.Metadata.Uid, true), (owner.Uid, owner.Controller == true));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Any(e => e.InvolvedObject.Name == "db"), Wait.Default, "a Promoted event on the group");
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Any(e => e.InvolvedObject.Name == active), Wait.Default, "a Promoted event on the pod");
    }

    public enum Failure { NotReady, Deleted, Terminating, ContainerRestart, PodFailed }

    [Theory]
    [InlineData(Failure.NotReady, FailoverReasons.NotReady)]
    // A bound pod is first marked for deletion, then removed: the operator may see either first.
    [InlineData(Failure.Deleted, FailoverReasons.Deleted + "|" + FailoverReasons.Terminating)]
    [InlineData(Failure.Terminating, FailoverReasons.Terminating)]
    [InlineData(Failure.ContainerRestart, FailoverReasons.NotReady)]
    [InlineData(Failure.PodFailed, FailoverReasons.PodFailed)]
    public async Task AFailedActiveIsReplacedByAReadyStandby(Failure failure, string reason)
    {
        for (var i = 0; i < 3; i++)
        {
            // A finalizer keeps a deleted pod in Terminating, as a kubelet does during its grace period.
            await Kubelet.CreatePodAsync($"db-{i}", new Dictionary<string, string> { ["app"] = "db" },
                finalizers: failure == Failure.Terminating ? ["failover.dev/test-hold"] : null);
        }
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        var first = await WaitForActiveAsync("db", "db");

        switch (failure)
        {
            case Failure.NotReady: await Kubelet.SetReadyAsync(first, false); break;
            case Failure.ContainerRestart: await Kubelet.RestartContainerAsync(first); break;
            case Failure.PodFailed: await Kubelet.SetFailedAsync(first); break;
            case Failure.Deleted: await Client.CoreV1.DeleteNamespacedPodAsync(first, Ns, new V1DeleteOptions { GracePeriodSeconds = 0 }); break;
            case Failure.Terminating: await Client.CoreV1.DeleteNamespacedPodAsync(first, Ns); break;
        }

        try
        {
            var second = await WaitForActiveAsync("db", "db", a => a != first);
            var lease = (await GetLeaseAsync("db"))!;
            Assert.Equal(1, lease.Spec.LeaseTransitions);
            var status = (await GetGroupAsync("db")).Status!;
            Assert.Equal(1, status.FailoverCount);
            Assert.Equal((first, second), (status.LastFailover!.From, status.LastFailover.To));
            Assert.Contains(status.LastFailover.Reason, reason.Split('|'));
            Assert.NotNull(status.LastFailover.DetectedAt);
            Assert.True(status.LastFailover.CompletedAt >= status.LastFailover.DetectedAt);
            Assert.True(status.LastFailover.DurationMilliseconds >= 0);
            if (failure is not Failure.Deleted)
            {
                Assert.Equal(Roles.Standby, (await RolesAsync("db"))[first]);
            }
            await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.FailoverStarted)).Count > 0, Wait.Default, "a FailoverStarted event");
            await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted))
                .Any(e => e.Message.Contains($"replacing {first}") && e.InvolvedObject.Kind == HighAvailabilityGroup.KindName), Wait.Default, "a Promoted event naming the failed pod");
        }
        finally
        {
            // The finalizers hold the namespace in Terminating until removed, pass or fail.
            if (failure == Failure.Terminating) await ReleaseFinalizersAsync(["db-0", "db-1", "db-2"]);
        }
    }

    [Fact]
    public async Task WithoutAReadyStandbyTheGroupIsDegradedUntilOneBecomesReady()
    {
        await Kubelet.CreatePodAsync("db-0", new Dictionary<string, string> { ["app"] = "db" });
        await Kubelet.CreatePodAsync("db-1", new Dictionary<string, string> { ["app"] = "db" }, ready: false);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));

        await Kubelet.SetReadyAsync("db-0", false);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Degraded, Wait.Default, "phase Degraded",
            () => DescribeAsync("db", "db"));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.NoStandbyAvailable)).Any(e => e.Type == "Warning"), Wait.Default, "a NoStandbyAvailable warning");
        Assert.Equal(Roles.Active, (await RolesAsync("db"))["db-0"]); // never fence the only pod
        Assert.Equal("db-0", (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
        var degraded = (await GetGroupAsync("db")).Status!;
        Assert.Equal("True", degraded.Conditions!.Single(c => c.Type == "Degraded").Status);
        Assert.Contains("no standby is Ready", degraded.Conditions!.Single(c => c.Type == "Degraded").Message);

        await Kubelet.SetReadyAsync("db-1", true);
        Assert.Equal("db-1", await WaitForActiveAsync("db", "db", a => a == "db-1"));
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync("db")).Status!.Phase);
    }

    [Fact]
    public async Task WhenTheOnlyActiveIsGoneTheStatusNamesNoActive()
    {
        await Kubelet.CreatePodAsync("db-0", new Dictionary<string, string> { ["app"] = "db" });
        await Kubelet.CreatePodAsync("db-1", new Dictionary<string, string> { ["app"] = "db" }, ready: false);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));

        await Client.CoreV1.DeleteNamespacedPodAsync("db-0", Ns, gracePeriodSeconds: 0);

        // The status is a merge patch: the field must be removed, not left naming the deleted pod.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { Phase: not GroupPhase.Healthy, ActivePod: null },
            Wait.Default, "the status to name no active pod", () => DescribeAsync("db", "db"));
    }

    [Fact]
    public async Task ALeaseOfTheGroupsNameThatIsNotOursIsReportedAndLeftAlone()
    {
        var foreign = await Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "db" },
            Spec = new V1LeaseSpec { HolderIdentity = "someone-else" },
        }, Ns);
        await CreatePodsAsync("db", 2);
        var op = await StartOperatorAsync();
        await CreateGroupAsync("db", "db");

        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.LeaseNameTaken)).Any(e => e.Message.Contains("rename the group")),
            Wait.Default, "a LeaseNameTaken warning that says what to do");
        var lease = await Client.CoordinationV1.ReadNamespacedLeaseAsync("db", Ns);
        Assert.Equal(("someone-else", foreign.Metadata.ResourceVersion), (lease.Spec.HolderIdentity, lease.Metadata.ResourceVersion));
        Assert.DoesNotContain(Roles.Active, (await RolesAsync("db")).Values);
        Assert.False(op.HasExited);
    }

    [Fact]
    public async Task AFailureShorterThanTheDelayChangesNothingAndALongerOneFailsOver()
    {
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.FailoverDelaySeconds = 2);
        var first = await WaitForActiveAsync("db", "db");
        var lease = (await GetLeaseAsync("db"))!;

        // A 1 s blip: the operator sees it (FailingOver), then sees the recovery before the delay ends.
        var blipStarted = DateTime.UtcNow;
        await Kubelet.SetReadyAsync(first, false);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FailingOver, Wait.Default, "phase FailingOver");
        var rest = TimeSpan.FromSeconds(1) - (DateTime.UtcNow - blipStarted);
        if (rest > TimeSpan.Zero) await Task.Delay(rest); // the blip's length is the scenario, not a wait
        await Kubelet.SetReadyAsync(first, true);
        var blip = DateTime.UtcNow - blipStarted;
        Assert.True(blip < TimeSpan.FromSeconds(2), $"the blip took {blip}, not shorter than the 2 s delay: the scenario did not happen");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "phase Healthy again");
        // Past the moment the delay would have ended, nothing has moved.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(first, (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
        Assert.Equal(lease.Spec.LeaseTransitions, (await GetLeaseAsync("db"))!.Spec.LeaseTransitions);
        Assert.Equal(0, (await GetGroupAsync("db")).Status!.FailoverCount);

        // A 3 s failure: fails over, not before the 2 s delay.
        var failedAt = DateTime.UtcNow;
        await Kubelet.SetReadyAsync(first, false);
        var second = await WaitForActiveAsync("db", "db", a => a != first);
        var record = (await GetGroupAsync("db")).Status!.LastFailover!;
        Assert.True(record.CompletedAt!.Value - record.DetectedAt!.Value >= TimeSpan.FromSeconds(2),
            $"failed over after {(record.CompletedAt - record.DetectedAt)?.TotalMilliseconds} ms, before the 2 s delay");
        Assert.NotEqual(first, second);
        Output.WriteLine($"failure written → failover completed: {(record.CompletedAt!.Value - failedAt).TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task APausedGroupDoesNotFailOverUntilUnpaused()
    {
        await CreatePodsAsync("db", 2);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        var first = await WaitForActiveAsync("db", "db");
        await PatchGroupSpecAsync("db", new { paused = true });
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Paused, Wait.Default, "phase Paused");

        await Kubelet.SetReadyAsync(first, false);
        await Kubelet.CreatePodAsync("db-new", new Dictionary<string, string> { ["app"] = "db" });
        // Labels are still maintained while paused: the new member gets its standby label …
        await Wait.UntilAsync(async () => (await RolesAsync("db"))["db-new"] == Roles.Standby, Wait.Default, "the new member labelled standby");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Conditions?.Any(c => c.Reason == "FailoverPaused") == true,
            Wait.Default, "the status to say failover is paused");
        // … but the failed active is not replaced.
        Assert.Equal(first, (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
        Assert.Equal(Roles.Active, (await RolesAsync("db"))[first]);

        await PatchGroupSpecAsync("db", new { paused = false });
        var second = await WaitForActiveAsync("db", "db", a => a != first);
        Assert.Equal(1, (await GetGroupAsync("db")).Status!.FailoverCount);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task PodsThatStopMatchingLoseTheRoleAndNewOnesGetStandby()
    {
        await CreatePodsAsync("db", 2);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        var active = await WaitForActiveAsync("db", "db");
        var standby = active == "db-0" ? "db-1" : "db-0";

        await Kubelet.CreatePodAsync("db-late", new Dictionary<string, string> { ["app"] = "db" });
        await Wait.UntilAsync(async () => (await RolesAsync("db")).GetValueOrDefault("db-late") == Roles.Standby, Wait.Default, "db-late labelled standby");

        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { labels = new Dictionary<string, string> { ["app"] = "other" } } },
            V1Patch.PatchType.MergePatch), standby, Ns);
        await Wait.UntilAsync(async () =>
        {
            var pod = await Client.CoreV1.ReadNamespacedPodAsync(standby, Ns);
            return pod.Metadata.Labels.ContainsKey(HighAvailabilityGroupSpec.DefaultRoleLabelKey) == false
                && pod.Metadata.Annotations?.ContainsKey(Roles.GroupAnnotation) != true;
        }, Wait.Default, $"{standby} to lose its role label");
        Assert.Equal(active, await WaitForActiveAsync("db", "db"));
    }

    [Fact]
    public async Task WhenAGroupIsDeletedAnotherGroupSelectingItsPodsTakesThemOver()
    {
        await CreatePodsAsync("db", 2);
        await StartOperatorAsync();
        await CreateGroupAsync("first", "db");
        var active = await WaitForActiveAsync("first", "db");
        await CreateGroupAsync("second", "db");
        await Wait.UntilAsync(async () => (await GetGroupAsync("second")).Status?.Phase == GroupPhase.Pending, Wait.Default,
            "the second group to find no members (the first one holds them)");

        // Nothing about the pods changes when the first group goes; only its deletion can wake the second.
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "first");
        Assert.Equal(active, await WaitForActiveAsync("second", "db"));
        await Wait.UntilAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=db")).Items
            .All(p => p.Metadata.Annotations?.TryGetValue(Roles.GroupAnnotation, out var g) == true && g == "second"), Wait.Default, "both pods annotated as members of the second group");

        // The second group now fails over on its own.
        await Kubelet.SetReadyAsync(active, false);
        await WaitForActiveAsync("second", "db", a => a != active);
    }
}

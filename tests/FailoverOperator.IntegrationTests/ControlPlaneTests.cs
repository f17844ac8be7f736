using System.Net;
using System.Text.Json;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>What the operator relies on, shown on the genuine API server.</summary>
[Collection(ControlPlaneCollection.Name)]
public class ControlPlaneTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private Task<object> CreateRawGroupAsync(object spec, string name = "g") =>
        Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new { apiVersion = HighAvailabilityGroup.ApiVersionName, kind = HighAvailabilityGroup.KindName, metadata = new { name }, spec },
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural);

    [Fact]
    public async Task CustomObjectsAreDefaultedWatchedAndHaveAStatusSubresource()
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        var seen = new List<(WatchEventType, string?)>();
        var watching = new TaskCompletionSource();
        var statusSeen = new TaskCompletionSource<HighAvailabilityGroup>(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = await Client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<Runtime.CustomResourceList<HighAvailabilityGroup>>(
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural);
        var watcher = Task.Run(async () =>
        {
#pragma warning disable CS0618
            var events = Client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<Runtime.CustomResourceList<HighAvailabilityGroup>>(
                HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural,
                resourceVersion: list.Body.Metadata.ResourceVersion, watch: true, cancellationToken: cts.Token)
                .WatchAsync<HighAvailabilityGroup, Runtime.CustomResourceList<HighAvailabilityGroup>>(_ => { }, cts.Token);
#pragma warning restore CS0618
            watching.TrySetResult();
            await foreach (var (type, group) in events)
            {
                seen.Add((type, group.Status?.Phase));
                if (group.Status?.Phase == GroupPhase.Healthy) statusSeen.TrySetResult(group);
            }
        });
        await watching.Task;

        // Sent as raw JSON with the selector only, and read back raw: the values below can only come from
        // the CRD's defaults (the C# types carry the same defaults and would hide a missing one).
        var created = (JsonElement)await CreateRawGroupAsync(new { selector = new { matchLabels = new { app = "web" } } }, "web");
        var spec = created.GetProperty("spec");
        Assert.Equal(HighAvailabilityGroupSpec.DefaultRoleLabelKey, spec.GetProperty("roleLabelKey").GetString());
        Assert.Equal(15, spec.GetProperty("leaseDurationSeconds").GetInt32());
        Assert.Equal(0, spec.GetProperty("failoverDelaySeconds").GetInt32());
        Assert.False(spec.GetProperty("paused").GetBoolean());
        var generation = created.GetProperty("metadata").GetProperty("generation").GetInt64();

        // A status write through the main resource is ignored; through /status it lands.
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(new { status = new { phase = "Degraded" } }, V1Patch.PatchType.MergePatch),
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "web");
        Assert.Null((await GetGroupAsync("web")).Status);
        await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(new { status = new { phase = "Healthy", activePod = "web-0" } }, V1Patch.PatchType.MergePatch),
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "web");

        var watched = await statusSeen.Task.WaitAsync(Wait.Default);
        Assert.Equal("web-0", watched.Status!.ActivePod);
        Assert.Equal(WatchEventType.Added, seen[0].Item1);
        Assert.Equal(generation, (await GetGroupAsync("web")).Metadata.Generation); // status does not bump generation
        cts.Cancel();
        await Task.WhenAny(watcher, Task.Delay(5000));
    }

    [Theory]
    [InlineData("""{"roleLabelKey":"x"}""", "spec.selector: Required value")]
    [InlineData("""{"selector":{}}""", "spec.selector")]
    [InlineData("""{"selector":{"matchLabels":{"app":"db"}},"failoverDelaySeconds":-1}""", "spec.failoverDelaySeconds")]
    [InlineData("""{"selector":{"matchLabels":{"app":"db"}},"leaseDurationSeconds":0}""", "spec.leaseDurationSeconds")]
    [InlineData("""{"selector":{"matchLabels":{"app":"db"}},"activeCount":0}""", "spec.activeCount")]
    [InlineData("""{"selector":{"matchExpressions":[{"key":"app","operator":"Near"}]}}""", "spec.selector.matchExpressions.operator: Unsupported value")]
    [InlineData("""{"selector":{"matchLabels":{"app":"db"}},"roleLabelKey":"not a label"}""", "spec.roleLabelKey")]
    public async Task InvalidSpecsAreRejectedWithTheFieldNamed(string spec, string field)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => CreateRawGroupAsync(JsonDocument.Parse(spec).RootElement));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains(field, e.Response.Content);
        Output.WriteLine(e.Response.Content);
    }

    [Fact]
    public async Task ALeaseWrittenWithAStaleResourceVersionGetsAConflict()
    {
        var lease = await Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "l" },
            Spec = new V1LeaseSpec { HolderIdentity = "a", LeaseDurationSeconds = 15 },
        }, Ns);
        var stale = lease.Metadata.ResourceVersion;

        lease.Spec.HolderIdentity = "b";
        var moved = await Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "l", Ns);
        Assert.NotEqual(stale, moved.Metadata.ResourceVersion);

        lease.Spec.HolderIdentity = "c";
        lease.Metadata.ResourceVersion = stale;
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "l", Ns));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Equal("b", (await Client.CoordinationV1.ReadNamespacedLeaseAsync("l", Ns)).Spec.HolderIdentity);
    }

    [Fact]
    public async Task AServiceGetsEndpointsOfExactlyTheReadyPods()
    {
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "svc" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "web" },
                Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
            },
        }, Ns);
        await Kubelet.CreatePodAsync("ready", new Dictionary<string, string> { ["app"] = "web" }, ready: true);
        await Kubelet.CreatePodAsync("unready", new Dictionary<string, string> { ["app"] = "web" }, ready: false);

        async Task<(string[] Ready, string[] NotReady)> Addresses()
        {
            var ep = await Client.CoreV1.ReadNamespacedEndpointsAsync("svc", Ns);
            var subsets = ep.Subsets ?? [];
            return (subsets.SelectMany(s => s.Addresses ?? []).Select(a => a.Ip).Order().ToArray(),
                    subsets.SelectMany(s => s.NotReadyAddresses ?? []).Select(a => a.Ip).Order().ToArray());
        }

        await Wait.UntilAsync(async () =>
            {
                var (ready, notReady) = await Addresses();
                return ready.SequenceEqual([Kubelet.PodIp("ready")]) && notReady.SequenceEqual([Kubelet.PodIp("unready")]);
            },
            Wait.Default, "Endpoints listing exactly the Ready pod (and the unready one as not ready)",
            async () => { var (r, n) = await Addresses(); return $"ready [{string.Join(",", r)}], not ready [{string.Join(",", n)}]"; });

        await Kubelet.SetReadyAsync("ready", false);
        await Wait.UntilAsync(async () => (await Addresses()).Ready.Length == 0, Wait.Default, "the unready pod to leave the Endpoints");
    }
}

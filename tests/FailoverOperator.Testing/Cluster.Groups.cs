using System.Net;
using System.Text.Json;
using FailoverOperator.Failover;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Testing;

public sealed partial class Cluster
{
    /// <summary>The label that makes a pod a member of the group of the same name.</summary>
    public const string GroupLabel = "app";
    public const string RoleLabel = HighAvailabilityGroupSpec.DefaultRoleLabelKey;

    public static string MemberName(string group, int index) => $"{group}-{index}";

    /// <summary>Creates the group's member pods <c>group-0..n-1</c> (label app=group), Running and Ready with pod IPs.</summary>
    public static async Task CreateMembersAsync(KubeletStandIn kubelet, string group, int count, bool ready = true)
    {
        for (var i = 0; i < count; i++)
        {
            await Retry(() => kubelet.CreatePodAsync(MemberName(group, i), new Dictionary<string, string> { [GroupLabel] = group }, ready));
        }
    }

    /// <summary>A group selecting the pods labelled app=<paramref name="app"/> (default: its own name).</summary>
    public async Task<HighAvailabilityGroup> CreateGroupAsync(string ns, string name, string? app = null, Action<HighAvailabilityGroupSpec>? configure = null)
    {
        var group = new HighAvailabilityGroup
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new HighAvailabilityGroupSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [GroupLabel] = app ?? name } },
            },
        };
        configure?.Invoke(group.Spec);
        var created = await Retry(() => Api.CustomObjects.CreateNamespacedCustomObjectAsync(group, HighAvailabilityGroup.Group,
            HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural));
        return ((JsonElement)created).Deserialize<HighAvailabilityGroup>()!;
    }

    public async Task<HighAvailabilityGroup?> GetGroupAsync(string ns, string name)
    {
        try
        {
            var raw = await Api.CustomObjects.GetNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, name);
            return ((JsonElement)raw).Deserialize<HighAvailabilityGroup>();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task PatchGroupSpecAsync(string ns, string name, object spec) =>
        Api.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(new { spec }, V1Patch.PatchType.MergePatch),
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, name);

    public async Task<V1Lease?> GetLeaseAsync(string ns, string name)
    {
        try { return await Api.CoordinationV1.ReadNamespacedLeaseAsync(name, ns); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    /// <summary>The role label of each pod labelled app=<paramref name="app"/> (null: none).</summary>
    public async Task<Dictionary<string, string?>> RolesAsync(string ns, string app)
    {
        var pods = await Api.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{GroupLabel}={app}");
        return pods.Items.ToDictionary(p => p.Metadata.Name, string? (p) => p.GetLabel(RoleLabel));
    }

    /// <summary>The Service that routes to the group's active pod: selects app=group and role=active.</summary>
    public async Task CreateActiveServiceAsync(string ns, string name, string group)
    {
        await Api.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { [GroupLabel] = group, [RoleLabel] = Roles.Active },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, Protocol = "TCP" }],
            },
        }, ns);
    }

    /// <summary>The ready addresses of a Service's Endpoints (none while it has no Endpoints object).</summary>
    public async Task<string[]> EndpointIpsAsync(string ns, string service)
    {
        try
        {
            var endpoints = await Api.CoreV1.ReadNamespacedEndpointsAsync(service, ns);
            return (endpoints.Subsets ?? []).SelectMany(s => s.Addresses ?? []).Select(a => a.Ip).ToArray();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }
    }
}

using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>
/// Plays the kubelet's part, since this control plane has no node: creates real Pod objects bound to
/// a registered Node and writes their status through the status subresource, as a kubelet would.
/// The endpoint controllers only take pods bound to a Node that exists: <see cref="EnsureNodeAsync"/>.
/// That Node is tainted NoSchedule, so on a cluster with a scheduler (kind) no real pod lands on it.
/// </summary>
public sealed class KubeletStandIn(IKubernetes client, string ns)
{
    public const string NodeName = "kubelet-stand-in";

    public static Task EnsureNodeAsync(IKubernetes client) => EnsureNodeAsync(client, NodeName);

    /// <summary>A stand-in Node of this name (tests of drains and topology register more than one), with labels (a zone, say).</summary>
    public static async Task EnsureNodeAsync(IKubernetes client, string name, IDictionary<string, string>? labels = null)
    {
        try
        {
            await client.CoreV1.CreateNodeAsync(new V1Node
            {
                Metadata = new V1ObjectMeta
                {
                    Name = name,
                    Labels = new Dictionary<string, string>(labels ?? new Dictionary<string, string>()) { ["failover.dev/stand-in"] = "true" },
                },
                Spec = new V1NodeSpec { Taints = [new V1Taint { Key = "failover.dev/stand-in", Value = "true", Effect = "NoSchedule" }] },
            });
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }
    }

    private static int nextAddress;
    // Concurrent: the chaos storm writes many pods' status at once through one stand-in.
    private readonly ConcurrentDictionary<string, string> podIps = new();
    private bool nodeEnsured;
    private readonly ConcurrentDictionary<string, int> restarts = new();

    /// <param name="node">A Node registered with <see cref="EnsureNodeAsync(IKubernetes, string, IDictionary{string, string}?)"/>; default the stand-in's own.</param>
    public async Task<V1Pod> CreatePodAsync(string name, IDictionary<string, string> labels, bool ready = true, IList<string>? finalizers = null, string? node = null)
    {
        if (!nodeEnsured && node is null) await EnsureNodeAsync(client);
        nodeEnsured |= node is null;
        var pod = await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string>(labels), Finalizers = finalizers },
            Spec = new V1PodSpec
            {
                NodeName = node ?? NodeName,
                // Without a kubelet nothing mounts a token; 1.20 also refuses pods until the token secret exists.
                AutomountServiceAccountToken = false,
                TerminationGracePeriodSeconds = 0,
                Containers = [new V1Container { Name = "app", Image = "failover-stand-in:never-pulled", ImagePullPolicy = "Never" }],
            },
        }, ns);
        await SetReadyAsync(name, ready);
        return pod;
    }

    /// <summary>Running with a pod IP, Ready and ContainersReady as given (their transition time is now).</summary>
    public Task<V1Pod> SetReadyAsync(string name, bool ready) => WriteStatusAsync(name, "Running", ready);

    /// <summary>The container exited for good: phase Failed, not Ready.</summary>
    public Task<V1Pod> SetFailedAsync(string name) => WriteStatusAsync(name, "Failed", false);

    /// <summary>A container restart as the kubelet reports it after a liveness failure: restartCount+1, not Ready.</summary>
    public async Task<V1Pod> RestartContainerAsync(string name)
    {
        restarts.AddOrUpdate(name, 1, (_, n) => n + 1);
        return await WriteStatusAsync(name, "Running", false);
    }

    public string PodIp(string name)
    {
        // Documentation-only data: these addresses are written into status and never contacted.
        return podIps.GetOrAdd(name, _ =>
        {
            var n = Interlocked.Increment(ref nextAddress);
            return $"10.244.{n / 250 % 250}.{n % 250 + 2}";
        });
    }

    private async Task<V1Pod> WriteStatusAsync(string name, string phase, bool ready)
    {
        var now = DateTime.UtcNow;
        var readyText = ready ? "True" : "False";
        var ip = PodIp(name);
        var status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ip,
            PodIPs = [new V1PodIP { Ip = ip }],
            HostIP = "10.244.255.1",
            StartTime = now,
            Conditions =
            [
                new V1PodCondition { Type = "Initialized", Status = "True", LastTransitionTime = now },
                new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now },
                new V1PodCondition { Type = "ContainersReady", Status = readyText, LastTransitionTime = now },
                new V1PodCondition { Type = "Ready", Status = readyText, LastTransitionTime = now },
            ],
            ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = "app",
                    Image = "failover-stand-in:never-pulled",
                    ImageID = "",
                    Ready = ready,
                    Started = phase == "Running",
                    RestartCount = restarts.GetValueOrDefault(name),
                    State = phase == "Running"
                        ? new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = now } }
                        : new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error", FinishedAt = now } },
                },
            ],
        };
        var patch = new V1Patch(new Dictionary<string, object> { ["status"] = status }, V1Patch.PatchType.MergePatch);
        return await client.CoreV1.PatchNamespacedPodStatusAsync(patch, name, ns);
    }
}

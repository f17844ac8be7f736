using System.Diagnostics;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>
/// The workload that runs on a real node (the end-to-end tests and the demo's real mode): busybox pods
/// whose exec probes test two files, so a failure can be caused from inside the container.
///   readiness: test -f /tmp/ready   (kubectl exec POD -- rm /tmp/ready: NotReady, no restart)
///   liveness:  test -f /tmp/alive   (kubectl exec POD -- rm /tmp/alive: the kubelet restarts the container)
/// hack/node/sample-workload.yaml is the same workload as YAML.
/// </summary>
public static class ProbedWorkload
{
    public const string ReadyFile = "/tmp/ready";
    public const string AliveFile = "/tmp/alive";

    /// <summary>A Deployment of pods labelled app=<paramref name="app"/>, probed every second.</summary>
    /// <param name="pullPolicy">Never for images made on the node with docker import (there is no registry)</param>
    public static V1Deployment Deployment(string app, string image, string pullPolicy, int replicas = 3)
    {
        var labels = new Dictionary<string, string> { ["app"] = app };
        return new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = app, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = replicas,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        TerminationGracePeriodSeconds = 2,
                        AutomountServiceAccountToken = false,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "app",
                                Image = image,
                                ImagePullPolicy = pullPolicy,
                                Command = ["sh", "-c", $"touch {ReadyFile} {AliveFile}; trap 'exit 0' TERM; while true; do sleep 1; done"],
                                // A busy machine can make an exec probe time out (default 1 s) and restart a healthy
                                // container; the failures caused on purpose are instant `test -f` results.
                                ReadinessProbe = Probe(ReadyFile),
                                LivenessProbe = Probe(AliveFile),
                            },
                        ],
                    },
                },
            },
        };
    }

    private static V1Probe Probe(string file) =>
        new() { Exec = new V1ExecAction { Command = ["test", "-f", file] }, PeriodSeconds = 1, FailureThreshold = 1, TimeoutSeconds = 5 };

    public sealed record ExecResult(int ExitCode, string Output);

    /// <summary>
    /// kubectl exec POD -- COMMAND, retried for up to <paramref name="timeout"/> while the kubelet reports the
    /// container as (re)starting. Returns the last result; a non-transient failure is returned at once.
    /// </summary>
    public static async Task<ExecResult> ExecAsync(string kubeconfig, string ns, string pod, string[] command, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var result = await RunKubectlAsync(["exec", "-n", ns, pod, "--kubeconfig", kubeconfig, "--", .. command], TimeSpan.FromSeconds(30));
            var transient = result.Output.Contains("unable to upgrade connection") || result.Output.Contains("container not found");
            if (result.ExitCode == 0 || !transient || deadline.Elapsed > timeout) return result;
            await Task.Delay(200);
        }
    }

    /// <summary>Runs kubectl; on timeout it is killed and the result says so (exit code -1).</summary>
    public static async Task<ExecResult> RunKubectlAsync(string[] args, TimeSpan timeout)
    {
        try
        {
            var result = await ProcessRunner.RunAsync("kubectl", args, timeout);
            return new ExecResult(result.ExitCode, result.Output);
        }
        catch (TimeoutException e)
        {
            return new ExecResult(-1, e.Message);
        }
    }
}

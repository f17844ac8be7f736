using k8s;
using k8s.Exceptions;

namespace KubectlHag;

/// <summary>The cluster and namespace a command acts on, chosen the way kubectl chooses them.</summary>
public sealed record KubeTarget(IKubernetes Client, string Namespace);

public static class KubeConnection
{
    /// <summary>
    /// As kubectl: --kubeconfig alone, else the files of KUBECONFIG merged, else ~/.kube/config, else
    /// the in-cluster service account; --context or the current context; the namespace from -n, else
    /// the context's, else "default".
    /// </summary>
    /// <exception cref="KubeConfigException">no usable configuration</exception>
    public static KubeTarget Connect(string? kubeconfig, string? context, string? ns)
    {
        var files = KubeconfigFiles(kubeconfig);
        KubernetesClientConfiguration config;
        if (files.Length > 0)
        {
            config = KubernetesClientConfiguration.BuildConfigFromConfigObject(KubeconfigMerge.Load(files), context);
        }
        else if (context is null && KubernetesClientConfiguration.IsInCluster())
        {
            config = KubernetesClientConfiguration.InClusterConfig();
        }
        else
        {
            throw new KubeConfigException("no kubeconfig found: pass --kubeconfig=PATH, set KUBECONFIG, or create ~/.kube/config");
        }
        return new KubeTarget(new Kubernetes(config), ns ?? config.Namespace ?? "default");
    }

    private static FileInfo[] KubeconfigFiles(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            // kubectl fails on a --kubeconfig that does not exist rather than falling back.
            return File.Exists(explicitPath) ? [new FileInfo(explicitPath)] : throw new KubeConfigException($"--kubeconfig {explicitPath}: no such file");
        }
        if (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } list)
        {
            // kubectl skips the entries of KUBECONFIG that do not exist.
            return list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).Select(f => new FileInfo(f)).ToArray();
        }
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) ? [new FileInfo(home)] : [];
    }
}

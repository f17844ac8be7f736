using FailoverOperator.Runtime;
using k8s;

namespace FailoverOperator.Hosting;

/// <summary>
/// Two clients on one configuration: requests time out after 30 s, watches stay open as long as the
/// server keeps them (a single HttpClient timeout would cut every watch).
/// </summary>
public sealed class KubernetesClients : IDisposable
{
    public IKubernetes Requests { get; }
    public IKubernetes Watches { get; }

    public KubernetesClients(string? kubeconfig)
    {
        Requests = Create(kubeconfig, TimeSpan.FromSeconds(30));
        Watches = Create(kubeconfig, Timeout.InfiniteTimeSpan);
    }

    private static Kubernetes Create(string? kubeconfig, TimeSpan timeout)
    {
        var config = kubeconfig is not null
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
            : KubernetesClientConfiguration.BuildDefaultConfig();
        config.HttpClientTimeout = timeout;
        return new Kubernetes(config, new ApiRequestCounter());
    }

    public void Dispose()
    {
        (Requests as IDisposable)?.Dispose();
        (Watches as IDisposable)?.Dispose();
    }
}

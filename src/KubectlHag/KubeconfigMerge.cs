using k8s;
using k8s.KubeConfigModels;

namespace KubectlHag;

/// <summary>
/// The files of KUBECONFIG merged as kubectl merges them: the first file to name a cluster, user or
/// context wins, and the first current-context set wins. (The client library's own merge is not public.)
/// </summary>
public static class KubeconfigMerge
{
    public static K8SConfiguration Load(IReadOnlyList<FileInfo> files)
    {
        var configs = files.Select(file => WithAbsolutePaths(KubernetesClientConfiguration.LoadKubeConfig(file), file)).ToList();
        return new K8SConfiguration
        {
            CurrentContext = configs.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)),
            Clusters = configs.SelectMany(c => c.Clusters ?? []).DistinctBy(c => c.Name).ToList(),
            Users = configs.SelectMany(c => c.Users ?? []).DistinctBy(u => u.Name).ToList(),
            Contexts = configs.SelectMany(c => c.Contexts ?? []).DistinctBy(c => c.Name).ToList(),
            FileName = files[0].FullName,
        };
    }

    // Relative certificate paths are relative to the file that names them; once merged, that file is not known.
    private static K8SConfiguration WithAbsolutePaths(K8SConfiguration config, FileInfo file)
    {
        foreach (var cluster in config.Clusters ?? [])
        {
            if (cluster.ClusterEndpoint is { } endpoint) endpoint.CertificateAuthority = Absolute(endpoint.CertificateAuthority, file);
        }
        foreach (var user in config.Users ?? [])
        {
            if (user.UserCredentials is not { } credentials) continue;
            credentials.ClientCertificate = Absolute(credentials.ClientCertificate, file);
            credentials.ClientKey = Absolute(credentials.ClientKey, file);
        }
        return config;
    }

    private static string? Absolute(string? path, FileInfo file) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(path, file.DirectoryName!);
}

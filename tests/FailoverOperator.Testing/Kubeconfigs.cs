namespace FailoverOperator.Testing;

public static class Kubeconfigs
{
    /// <summary>The kubeconfig kubectl would use: the first file in KUBECONFIG, else ~/.kube/config.</summary>
    public static string Default =>
        Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } k
            ? k.Split(':')[0]
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
}

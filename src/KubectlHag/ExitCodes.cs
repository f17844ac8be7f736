namespace KubectlHag;

/// <summary>What the plugin's exit code says; scripts branch on these (README, "kubectl hag").</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The group does not exist, the cluster could not be reached, or the API refused a request.</summary>
    public const int Error = 1;
    /// <summary>The command line is wrong (unknown command or option, missing NAME).</summary>
    public const int Usage = 2;
    /// <summary>The operator refused the switchover; its reason is printed.</summary>
    public const int SwitchoverRefused = 3;
    /// <summary>The operator accepted the switchover but could not move the active to the pod asked for.</summary>
    public const int SwitchoverFailed = 4;
    /// <summary>No answer from the operator within --timeout; the request stays pending.</summary>
    public const int SwitchoverTimedOut = 5;
}

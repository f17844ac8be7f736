using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FailoverOperator.Testing;

/// <summary>What a test needs to run a program of ours as its own process: a free loopback port and a signal.</summary>
public static class LocalProcess
{
    public const int SigTerm = 15;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>kill(2): Process.Kill sends only SIGKILL, and a graceful stop is SIGTERM.</summary>
    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}

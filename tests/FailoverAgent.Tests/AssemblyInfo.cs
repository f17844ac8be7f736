// The agent runs in Linux pods; its tests run real shell scripts and read /proc.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

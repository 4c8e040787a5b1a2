public import CofferHTTP

extension MountEntry {
    /// A KV engine, as `sys/mounts` lists it.
    public init(_ mount: KVMount) {
        self.init(
            type: "kv", description: mount.description, accessor: mount.accessor, uuid: mount.uuid,
            options: ["version": String(mount.version)], tokenType: nil)
    }
}

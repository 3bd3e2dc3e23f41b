/** A scripted stand-in for RTCPeerConnection (jsdom has no WebRTC). */
export class FakePeerConnection extends EventTarget {
  static instances: FakePeerConnection[] = [];
  /** "complete" at once, "never" (the gathering timeout applies) or "later" (an event). */
  static gathering: "complete" | "never" | "later" = "later";
  static failSetRemote = false;

  readonly config: RTCConfiguration;
  transceivers: { kind: string; init?: RTCRtpTransceiverInit }[] = [];
  iceGatheringState: RTCIceGatheringState = "new";
  connectionState: RTCPeerConnectionState = "new";
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  closed = false;

  constructor(config: RTCConfiguration = {}) {
    super();
    this.config = config;
    FakePeerConnection.instances.push(this);
  }

  static reset(): void {
    FakePeerConnection.instances = [];
    FakePeerConnection.gathering = "later";
    FakePeerConnection.failSetRemote = false;
  }

  addTransceiver(kind: string, init?: RTCRtpTransceiverInit): void {
    this.transceivers.push({ kind, init });
  }

  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: "offer", sdp: "v=0\r\no=- offer\r\n" };
  }

  async setLocalDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = desc;
    this.iceGatheringState = "gathering";
    if (FakePeerConnection.gathering === "complete") this.completeGathering();
    else if (FakePeerConnection.gathering === "later") queueMicrotask(() => this.completeGathering());
  }

  completeGathering(): void {
    this.localDescription = { type: "offer", sdp: "v=0\r\no=- offer\r\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n" };
    this.iceGatheringState = "complete";
    this.dispatchEvent(new Event("icegatheringstatechange"));
  }

  async setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    if (FakePeerConnection.failSetRemote) throw new Error("bad answer");
    this.remoteDescription = desc;
  }

  /** The server's media arrives. */
  deliverTrack(stream: unknown): void {
    const event = new Event("track") as Event & { streams: unknown[]; track: unknown };
    event.streams = [stream];
    event.track = { kind: "video" };
    this.dispatchEvent(event);
  }

  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatchEvent(new Event("connectionstatechange"));
  }

  close(): void {
    this.closed = true;
    this.connectionState = "closed";
  }
}

export function asPeerConnection(pc: FakePeerConnection): RTCPeerConnection {
  return pc as unknown as RTCPeerConnection;
}

export function firstPc(): FakePeerConnection {
  const pc = FakePeerConnection.instances[0];
  if (!pc) throw new Error("no RTCPeerConnection was created");
  return pc;
}

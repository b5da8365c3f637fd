"""What both ends of the agent's socket agree on: where it is, and how large its messages may be."""

#: The agent's socket, in the node's folder.
SOCKET_NAME = "babel.socket"

#: Largest gRPC message either way; run_sh output (2 x 16 MiB at most) fits with room to spare.
MAX_MESSAGE_BYTES = 64 * 2**20

#: gRPC channel and server options that apply `MAX_MESSAGE_BYTES`.
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]

#: Size of the chunks in which a file is streamed by `FileRead` and `FileWrite`.
FILE_CHUNK_BYTES = 2**20

import { io } from "socket.io-client";
export { io };

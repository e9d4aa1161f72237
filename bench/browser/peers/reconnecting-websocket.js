import ReconnectingWebSocket from "reconnecting-websocket";
export { ReconnectingWebSocket };

import { Centrifuge } from "centrifuge";
export { Centrifuge };
